#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Row 54 probe (run inside the cage, script on stdin): a hand-built ClientHello whose outer
SNI is OUTER and which carries an encrypted_client_hello extension (0xfe0d, type outer) with
NONCE in its payload, as an ECH client would send it. Python's ssl cannot send ECH, and this
curl has no --ech.

usage: python3 - HOST PORT OUTER NONCE tls12|tls13 [CONNECT-AUTHORITY]

tls12 offers TLS 1.2 only, so the server's Certificate travels in clear and is printed (PEM);
tls13 offers 1.3 (and 1.2) with an X25519 key share. Prints what came back:
  connect <status line>            (with CONNECT-AUTHORITY: the proxy's answer to CONNECT)
  serverhello version=0x0303|0x0304 ech_ext=0|1
  alert <level> <description> | closed
  <PEM of the leaf certificate>    (tls12 only)
"""
import base64
import os
import socket
import struct
import sys

host, port, outer, nonce, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
authority = sys.argv[6] if len(sys.argv) > 6 else None


def u8(b):
    return struct.pack('!B', len(b)) + b


def u16(b):
    return struct.pack('!H', len(b)) + b


def u24(b):
    return struct.pack('!I', len(b))[1:] + b


def ext(kind, body):
    return struct.pack('!H', kind) + u16(body)


def client_hello():
    name = outer.encode()
    exts = ext(0, u16(b'\x00' + u16(name)))                                  # server_name
    exts += ext(10, u16(b'\x00\x1d\x00\x17\x00\x18'))                         # supported_groups
    exts += ext(11, u8(b'\x00'))                                              # ec_point_formats
    exts += ext(13, u16(bytes.fromhex('0403080404010503080505010806060102010201')))
    exts += ext(16, u16(u8(b'http/1.1')))                                     # ALPN
    exts += ext(23, b'')                                                      # extended_master_secret
    exts += ext(0xff01, b'\x00')                                              # renegotiation_info
    if mode == 'tls13':
        exts += ext(43, u8(b'\x03\x04\x03\x03'))                              # supported_versions
        exts += ext(51, u16(b'\x00\x1d' + u16(os.urandom(32))))               # key_share X25519
        exts += ext(45, u8(b'\x01'))                                          # psk_key_exchange_modes
    # encrypted_client_hello, outer: HPKE suite (HKDF-SHA256, AES-128-GCM), config id, enc,
    # payload (the "encrypted inner hello": here random bytes around the nonce).
    payload = os.urandom(64) + nonce.encode() + os.urandom(96)
    exts += ext(0xfe0d, b'\x00' + b'\x00\x01\x00\x01' + os.urandom(1) + u16(os.urandom(32)) + u16(payload))
    suites = bytes.fromhex('c02bc02fc02cc030cca9cca8')
    if mode == 'tls13':
        suites = bytes.fromhex('130113021303') + suites
    body = b'\x03\x03' + os.urandom(32) + u8(os.urandom(32)) + u16(suites) + u8(b'\x00') + u16(exts)
    hs = b'\x01' + u24(body)
    return b'\x16\x03\x01' + u16(hs)


def read_exact(s, n):
    data = b''
    while len(data) < n:
        d = s.recv(n - len(data))
        if not d:
            raise EOFError
        data += d
    return data


def parse_server_hello(body):
    version = body[0:2]
    sid_len = body[34]
    i = 35 + sid_len + 3
    types, neg = [], version
    if i + 2 <= len(body):
        end = i + 2 + struct.unpack('!H', body[i:i + 2])[0]
        i += 2
        while i + 4 <= end:
            t, n = struct.unpack('!HH', body[i:i + 4])
            if t == 43:
                neg = body[i + 4:i + 6]
            types.append(t)
            i += 4 + n
    return '0x' + neg.hex(), 0xfe0d in types


def main():
    s = socket.create_connection((host, port), timeout=5)
    if authority:
        s.sendall(f'CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n'.encode())
        head = b''
        while b'\r\n\r\n' not in head:
            d = s.recv(1)
            if not d:
                break
            head += d
        print('connect', head.split(b'\r\n')[0].decode(errors='replace'), flush=True)
        if b' 200 ' not in head.split(b'\r\n')[0] + b' ':
            return
    s.sendall(client_hello())
    hs = b''
    try:
        while True:
            kind, _, n = struct.unpack('!BHH', read_exact(s, 5))
            rec = read_exact(s, n)
            if kind == 21:
                print('alert', rec[0], rec[1], flush=True)
                return
            if kind != 22:
                break   # TLS 1.3: ChangeCipherSpec / encrypted records follow the ServerHello
            hs += rec
            if mode == 'tls13' or b'\x0e\x00\x00\x00' in hs:
                break   # ServerHelloDone (tls12), or the ServerHello is all we can read (tls13)
    except (EOFError, ConnectionResetError, socket.timeout):
        if not hs:
            print('closed', flush=True)
            return
    i, cert = 0, None
    while i + 4 <= len(hs):
        t, n = hs[i], struct.unpack('!I', b'\x00' + hs[i + 1:i + 4])[0]
        body = hs[i + 4:i + 4 + n]
        if t == 2:
            version, ech = parse_server_hello(body)
            print(f'serverhello version={version} ech_ext={int(ech)}', flush=True)
        elif t == 11:
            first = struct.unpack('!I', b'\x00' + body[3:6])[0]
            cert = body[6:6 + first]
        i += 4 + n
    if cert:
        b64 = base64.encodebytes(cert).decode()
        print('-----BEGIN CERTIFICATE-----\n' + b64 + '-----END CERTIFICATE-----', flush=True)


main()
