#!/bin/bash
# PID 1 of a syscall-lab guest whose root is a view of the host (src/guest/view.ts), read-only
# over 9p. Everything runs inside main(): bash parses the whole function before running it.
main() {
  set -u
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  log() { echo "syscall-lab-init: $*" >/dev/console; }
  # mount(8) is setuid root. Run by an unprivileged user, the view shows every host file owned by
  # nobody, and a setuid-nobody mount drops init's root (euid 65534: "must be superuser").
  # Started through the dynamic loader (the x86-64 ABI's path), no set-user-ID applies.
  root_mount() { /lib64/ld-linux-x86-64.so.2 /usr/bin/mount "$@"; }
  # Under TCG every exec costs about 0.1 s: bash builtins wherever they do, four execs in all.
  [ -e /dev/null ] || root_mount -t devtmpfs dev /dev
  # Every file system at once (src/guest/fstab): /proc, /sys, /dev/pts, a tmpfs on each writable
  # place of the read-only view, and the run's share.
  root_mount -a -T /syscall-lab/fstab || log "mount -a: not every file system is mounted"
  # /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr (src/guest/view.ts): one exec for the four.
  cp -P /syscall-lab/dev/* /dev/ || log "no /dev/fd and /dev/std* links"
  [ -r /run/syscall-lab/authorized_keys ] || { log "no syscalllab share"; poweroff_now; }
  echo syscall-lab-guest >/proc/sys/kernel/hostname

  umask 077
  mkdir /root/.ssh
  local keys
  keys=$(</run/syscall-lab/authorized_keys)
  printf '%s\n' "$keys" >/root/.ssh/authorized_keys
  umask 022
  ip link set lo up

  # dropbear: no seccomp sandbox and no getrandom(2) need, so it serves logins on 3.9 as on 6.x.
  # -s: keys only, -E: log to the console, -F: stay in the foreground.
  dropbear -F -E -s -m -r /run/syscall-lab/host_key -p 22 -P /run/dropbear.pid </dev/null >/dev/console 2>&1 &
  local release
  read -r release </proc/sys/kernel/osrelease
  log "sshd started: $release"
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
