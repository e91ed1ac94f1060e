#!/usr/bin/env bash
# The by-hand baseline of `npm run bench`: what a careful person does with QEMU and ssh to check
# two new syscalls, with the QEMU options syscall-lab uses (-machine pc, -cpu max, -smp, -m, the
# host's root read-only over 9p with cache=loose, user networking), one SSH connection per boot
# (OpenSSH multiplexing), no sleeps, the login polled every 0.2 s:
#   0. compile the probe and the userland files on the host (the guest's root is the host's: same
#      gcc flags, in parallel);
#   1. boot the stock bzImage, `probe enosys` for the new numbers, power off;
#   2. boot the patched bzImage, run the probe's call/alternate/proc/efault modes with `top -bn1`
#      back to back 5 times, run the userland programs, power off.
# It prints "name seconds" lines: compile, boot-to-ssh-stock, stock, boot-to-ssh-patched,
# patched, total.
#
#   by-hand.sh --stock BZIMAGE --patched BZIMAGE --callcount NR --taskcount NR --probe probe.c
#              --header syscalls.h [--userland FILE.c]... [--cpus N] [--memory MIB] [--accel tcg|kvm]
set -euo pipefail

stock="" patched="" callcount="" taskcount="" probe="" header="" cpus=2 memory=1024 accel=tcg
userland=()
while [ $# -gt 0 ]; do
  case "$1" in
    --stock) stock=$2; shift 2 ;;
    --patched) patched=$2; shift 2 ;;
    --callcount) callcount=$2; shift 2 ;;
    --taskcount) taskcount=$2; shift 2 ;;
    --probe) probe=$2; shift 2 ;;
    --header) header=$2; shift 2 ;;
    --userland) userland+=("$2"); shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --accel) accel=$2; shift 2 ;;
    *) echo "by-hand.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for required in stock patched callcount taskcount probe header; do
  [ -n "${!required}" ] || { echo "by-hand.sh: --$required is missing" >&2; exit 2; }
done

# Not under /tmp: the guest mounts a tmpfs there, and reads these files through its 9p root.
work=$(mktemp -d /var/tmp/by-hand.XXXXXX)
qemu_pid=""
cleanup() {
  [ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
  [ -n "${BY_HAND_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
ssh-keygen -q -t ed25519 -N '' -f "$work/key"
dropbearkey -t ed25519 -f "$work/hostkey" >/dev/null 2>&1
cat >"$work/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mountpoint -q /dev || mount -t devtmpfs dev /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs run /run
# dropbear reads authorized_keys only from a home that nobody else may write.
mount -t tmpfs -o mode=0700 root /root
mkdir -m 700 /root/.ssh && cp "$work/key.pub" /root/.ssh/authorized_keys
ip link set lo up
exec dropbear -r "$work/hostkey" -p 22 -s -F -E </dev/null >/dev/console 2>&1
EOF
chmod 755 "$work/init"

now() { date +%s.%N; }
since() { awk -v from="$1" -v to="$(now)" 'BEGIN { printf "%.1f", to - from }'; }
port=$((20000 + RANDOM % 20000))
guest() {
  ssh -q -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ControlMaster=auto -o "ControlPath=$work/ssh-%p" -o ControlPersist=300 -o ConnectTimeout=5 \
    -i "$work/key" -p "$port" root@127.0.0.1 "$@"
}

# Boots a bzImage and waits for the login; prints "boot-to-ssh-<name> <seconds from QEMU's start
# to the first command>". Not in $(...): QEMU and the SSH master would hold its pipe open.
boot() {
  local started
  started=$(now)
  qemu-system-x86_64 -machine pc -accel "$accel" -cpu max -smp "$cpus" -m "$memory" \
    -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$1" -serial "file:$work/console-$2.log" \
    -append "console=ttyS0 root=/dev/root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=262144 ro init=$work/init ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off panic=-1 pci=noacpi i8042.noaux 8250.nr_uarts=1 loglevel=7 nokaslr no5lvl" \
    -fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=root,mount_tag=/dev/root \
    -netdev "user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=net \
    </dev/null >"$work/qemu-$2.out" 2>&1 &
  qemu_pid=$!
  until guest true </dev/null >/dev/null 2>&1; do
    if ! kill -0 "$qemu_pid" 2>/dev/null || [ "$(since "$started" | cut -d. -f1)" -ge "${BY_HAND_LOGIN_TIMEOUT:-300}" ]; then
      echo "by-hand.sh: no login on the $2 kernel; its console:" >&2
      tail -20 "$work/console-$2.log" >&2
      exit 3
    fi
    sleep 0.2
  done
  echo "boot-to-ssh-$2 $(since "$started")"
}

poweroff() {
  # reboot -f: reboot(2) at once; QEMU's -no-reboot makes it the end of the VM.
  guest 'reboot -f' </dev/null >/dev/null 2>&1 || true
  wait "$qemu_pid" || true
  qemu_pid=""
  guest -O exit </dev/null >/dev/null 2>&1 || true
}

total=$(now)
# The guest's root is the host's: what the host's gcc makes runs there as it is, so a careful
# person compiles everything once, on the host, in parallel, before the first boot.
mkdir "$work/b"
gcc -O2 -pthread -o "$work/b/probe" "$probe" &
for file in ${userland[@]+"${userland[@]}"}; do
  gcc -Wall -O2 -include "$header" -o "$work/b/$(basename "$file" .c)" "$file" &
done
wait
echo "compile $(since "$total")"

started=$(now)
boot "$stock" stock
guest "$work/b/probe enosys $callcount $taskcount" >"$work/stock.out"
poweroff
echo "stock $(since "$started")"

started=$(now)
boot "$patched" patched
checks="cd /tmp && $work/b/probe call $callcount 3 && $work/b/probe alternate $callcount 6"
checks+=" && for i in 1 2 3 4 5; do $work/b/probe call $taskcount 1 \$i; top -bn1 >/tmp/top; head -2 /tmp/top; $work/b/probe proc $taskcount \$i; done"
checks+=" && $work/b/probe efault $callcount 0xffff888000000000; $work/b/probe efault $taskcount 0xffff888000000000"
for file in ${userland[@]+"${userland[@]}"}; do checks+="; $work/b/$(basename "$file" .c)"; done
guest "$checks" >"$work/patched.out" 2>&1 || true
poweroff
echo "patched $(since "$started")"
echo "total $(since "$total")"
