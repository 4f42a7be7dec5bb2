# SPDX-License-Identifier: GPL-2.0-only
# Minimal RFC 6455 client of escapes.md section 2: ws.py URL MESSAGE [--frag]. Messages < 126 bytes.
import base64,os,socket,ssl,sys,urllib.parse as u
url=u.urlparse(sys.argv[1]); msg=sys.argv[2].encode(); frag='--frag' in sys.argv
s=socket.create_connection((url.hostname,url.port or (443 if url.scheme=='wss' else 80)),timeout=10)
if url.scheme=='wss': s=ssl.create_default_context(cafile=os.environ.get('CA')).wrap_socket(s,server_hostname=url.hostname)
k=base64.b64encode(os.urandom(16)).decode()
s.sendall(f"GET {url.path or '/'} HTTP/1.1\r\nHost: {url.hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {k}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
print(s.recv(4096).split(b'\r\n')[0])
def fr(op,fin,p):
    m=os.urandom(4); return bytes([op|(0x80 if fin else 0),0x80|len(p)])+m+bytes(b^m[i%4] for i,b in enumerate(p))
h=len(msg)//2
s.sendall(fr(1,0,msg[:h])+fr(0,1,msg[h:]) if frag else fr(1,1,msg))
print(s.recv(4096))
