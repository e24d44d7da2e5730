#!/usr/bin/env bash
# A throwaway S3 server for the storage tests: single-node Ceph (mon + memstore OSD) + radosgw, all from Debian
# (apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common). Real SigV4 and POST-policy
# enforcement, which npm fakes (s3rver) do not have. Adapted from the recipe in shared/reference/stack.md §7.
#
#   scripts/radosgw.sh up    starts it (idempotent: a healthy one is kept) and writes $RGW_DIR/s3.env
#   scripts/radosgw.sh down  stops it and removes its directory
#
# s3.env holds S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION, S3_BUCKET for test/contracts.
set -uo pipefail
CMD=${1:-up}
C=${RGW_DIR:-${TMPDIR:-/tmp}/parley-radosgw}
PORT=${RGW_PORT:-7481} # not the recipe's 7480, so a developer's own radosgw is left alone
MONPORT=$((PORT + 1000))
KEY=PARLEYTESTKEY
SECRET=PARLEYTESTSECRETPARLEYTESTSECRET

stop() { # reverse order, by the pid files the daemons wrote; SIGKILL fallback
  for n in client.rgw.a osd.0 mon.a; do
    f="$C/run/$n.pid"; [ -f "$f" ] || continue; p=$(cat "$f"); kill "$p" 2>/dev/null || continue
    for _ in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
  done
  rm -rf "$C"
}
if [ "$CMD" = down ]; then stop; exit 0; fi
if [ "$CMD" != up ]; then echo "usage: $0 up|down" >&2; exit 2; fi
if [ -f "$C/s3.env" ] && curl -sf "http://127.0.0.1:$PORT/" >/dev/null; then
  echo "radosgw already up on 127.0.0.1:$PORT ($C/s3.env)"; exit 0
fi
fail() { echo "FATAL: radosgw.sh: $1 (logs in $C/log)" >&2; tail -5 "$C"/log/*.log >&2 2>/dev/null; exit 1; }
for bin in ceph-mon ceph-osd radosgw ceph ceph-authtool monmaptool radosgw-admin; do
  command -v "$bin" >/dev/null || fail "$bin is not installed (apt-get install ceph-mon ceph-osd radosgw ceph-common)"
done
[ -d "$C" ] && stop
mkdir -p "$C"/{run,log,mon.a,osd.0}
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$C/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MONPORT
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 1073741824
# The OSD's own start-up crush commands reach this Debian build's monitor with a zero fsid and are refused
# ("wrong fsid"), which stops the OSD; the script places it in the crush map itself.
osd class update on start = false
osd crush update on start = false
run dir = $C/run
admin socket = $C/run/\$name.asok
log file = $C/log/\$name.log
pid file = $C/run/\$name.pid
keyring = $C/keyring
mon data = $C/mon.\$id
osd data = $C/osd.\$id
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT
CONF
X=(-c "$C/ceph.conf")
ceph-authtool --create-keyring "$C/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null || fail "keyring"
ceph-authtool "$C/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' >/dev/null || fail "keyring"
monmaptool --create --add a "v1:127.0.0.1:$MONPORT" --fsid "$FSID" "$C/monmap" >/dev/null || fail "monmap"
ceph-mon "${X[@]}" --mkfs -i a --monmap "$C/monmap" --keyring "$C/keyring" || fail "mon mkfs"
ceph-mon "${X[@]}" -i a || fail "mon start"
for _ in $(seq 1 40); do timeout 5 ceph "${X[@]}" mon stat >/dev/null 2>&1 && break; sleep 0.5; done
U=$(cat /proc/sys/kernel/random/uuid)
ID=$(timeout 20 ceph "${X[@]}" osd create "$U") || fail "osd create"
ceph-osd "${X[@]}" -i "$ID" --mkfs --osd-uuid "$U" >/dev/null 2>&1 || fail "osd mkfs"
ceph "${X[@]}" osd crush add-bucket localhost host >/dev/null 2>&1
ceph "${X[@]}" osd crush move localhost root=default >/dev/null 2>&1
ceph "${X[@]}" osd crush add "osd.$ID" 1.0 host=localhost >/dev/null 2>&1 || fail "crush add"
ceph-osd "${X[@]}" -i "$ID" >/dev/null 2>&1 || fail "osd start"
for _ in $(seq 1 60); do timeout 5 ceph "${X[@]}" osd stat 2>/dev/null | grep -q "1 up" && break; sleep 0.5; done
radosgw "${X[@]}" -n client.rgw.a || fail "radosgw start"
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$PORT/" >/dev/null || fail "radosgw not answering on 127.0.0.1:$PORT"
radosgw-admin "${X[@]}" user create --uid=parley --display-name=parley --access-key=$KEY --secret-key=$SECRET >/dev/null 2>&1 ||
  fail "user create"
cat > "$C/s3.env" <<ENV
S3_ENDPOINT=http://127.0.0.1:$PORT
S3_REGION=us-east-1
S3_ACCESS_KEY_ID=$KEY
S3_SECRET_ACCESS_KEY=$SECRET
S3_FORCE_PATH_STYLE=true
ENV
echo "radosgw up on 127.0.0.1:$PORT ($C/s3.env)"
