# SPDX-License-Identifier: GPL-2.0-only
# Helpers of escapes.md section 2, for probes: `. /run/lab/helpers.sh`.
# mkq NAME          -> base64url DNS wire query (for ?dns=);  mkq -raw NAME -> raw wire bytes
mkq(){ r=0; [ "$1" = -raw ] && { r=1; shift; }; python3 - "$1" "$r" <<'E'
import base64,struct,sys
q=struct.pack('>6H',0,256,1,0,0,0)+b''.join(bytes([len(l)])+l.encode() for l in sys.argv[1].split('.'))+b'\0'+struct.pack('>2H',1,1)
sys.stdout.buffer.write(q) if sys.argv[2]=='1' else print(base64.urlsafe_b64encode(q).decode().rstrip('='))
E
}
# chunk STRING      -> chunked body, 3 bytes per chunk, terminated
chunk(){ python3 -c "import sys;s=sys.argv[1];sys.stdout.write(''.join('%x\r\n%s\r\n'%(len(s[i:i+3]),s[i:i+3]) for i in range(0,len(s),3))+'0\r\n\r\n')" "$1"; }
