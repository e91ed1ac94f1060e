#!/bin/bash
# PID 1 of a syscall-lab guest whose root is a view of the host (src/guest/view.ts), read-only
# over 9p. Everything runs inside main(): bash parses the whole function before running it.
main() {
  set -u
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  log() { echo "syscall-lab-init: $*" >/dev/console; }
  mountpoint -q /proc || mount -t proc proc /proc
  mountpoint -q /sys || mount -t sysfs sys /sys
  mountpoint -q /dev || mount -t devtmpfs dev /dev
  mkdir -p /dev/pts /dev/shm 2>/dev/null
  mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
  mount -t tmpfs -o mode=1777 shm /dev/shm

  # The root is a view built on the host (src/guest/view.ts): /usr, a generated /etc (password
  # fields "*", no keys), /syscall-lab, empty mount points. Writable places get a tmpfs.
  local dir
  for dir in /run /tmp /var/tmp /var/log /var/cache /var/spool /root /home /mnt; do
    [ -d "$dir" ] && mount -t tmpfs -o mode=0755 tmpfs "$dir"
  done
  chmod 1777 /tmp /var/tmp
  chmod 0700 /root

  mkdir -p /run/syscall-lab /run/sshd
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 syscalllab /run/syscall-lab || { log "no syscalllab share"; poweroff_now; }
  hostname syscall-lab-guest
  ip link set lo up

  mkdir -p /root/.ssh
  cp /run/syscall-lab/authorized_keys /root/.ssh/authorized_keys
  chmod 0700 /root/.ssh
  chmod 0600 /root/.ssh/authorized_keys

  # dropbear: no seccomp sandbox and no getrandom(2) need, so it serves logins on 3.9 as on 6.x.
  # -s: keys only, -E: log to the console, -F: stay in the foreground.
  dropbear -F -E -s -m -r /run/syscall-lab/host_key -p 22 -P /run/dropbear.pid </dev/null >/dev/console 2>&1 &
  log "sshd started: $(uname -r)"
  wait
  log "sshd exited"
  poweroff_now
}

poweroff_now() {
  # With QEMU's -no-reboot, a reboot ends the VM; poweroff needs ACPI, reboot does not.
  sync
  reboot -f
}

main "$@"
