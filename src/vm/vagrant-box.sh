#!/usr/bin/env bash
# vagrant-box.sh: a small Debian Vagrant box for libvirt, made with nothing but Debian's apt.
#
#   vagrant-box.sh --out FILE.box --public-key vagrant.pub [--suite bookworm] [--mirror URL] [--size-gib N]
#
# mmdebstrap installs Debian (systemd, openssh-server, sudo, gcc, libc6-dev, procps, Debian's kernel)
# into a folder; mkfs.ext4 -d turns the folder into a filesystem image; extlinux in that filesystem
# and syslinux's MBR make the disk boot whatever /boot/extlinux/extlinux.conf names, so a kernel
# installed inside the guest (upgrade-kernel.sh --install-prebuilt) boots after a reload.
set -euo pipefail

die() { printf 'vagrant-box.sh: error: %s\n' "$1" >&2; exit "${2:-1}"; }
say() { printf 'syscall-lab: %s\n' "$*"; }

main() {
  local public_key="" suite=bookworm mirror="" size_gib=4
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) out=$2; shift 2 ;;
      --public-key) public_key=$2; shift 2 ;;
      --suite) suite=$2; shift 2 ;;
      --mirror) mirror=$2; shift 2 ;;
      --size-gib) size_gib=$2; shift 2 ;;
      *) die "unknown option $1" 2 ;;
    esac
  done
  [ -n "$out" ] && [ -n "$public_key" ] || die "--out and --public-key are required" 2
  [ -f "$public_key" ] || die "public key $public_key does not exist" 66
  [ "$(id -u)" = 0 ] || die "making a box needs root (mmdebstrap, mount)" 77
  local tool
  for tool in mmdebstrap mkfs.ext4 extlinux sfdisk qemu-img mount; do
    command -v "$tool" >/dev/null || die "$tool is missing (fix: apt-get install mmdebstrap e2fsprogs extlinux syslinux-common fdisk qemu-utils)" 69
  done
  local mbr=/usr/lib/syslinux/mbr/mbr.bin
  [ -f "$mbr" ] || die "$mbr is missing (fix: apt-get install syslinux-common)" 69

  # libvirt's QEMU (user libvirt-qemu) never reads these files, but vagrant does: not under /root.
  work=$(mktemp -d "${TMPDIR:-/var/tmp}/syscall-lab-box.XXXXXX")
  trap 'cleanup' EXIT
  local root="$work/root"

  say "phase mmdebstrap ($suite)"
  # Retries: a slow or briefly unreachable mirror must not fail a 5-minute build.
  mmdebstrap --variant=minbase --mode=root --format=directory --aptopt='Acquire::Retries "5"' \
    --include=systemd-sysv,udev,linux-image-amd64,initramfs-tools,openssh-server,openssh-sftp-server,sudo,gcc,libc6-dev,procps,iproute2,kmod,less \
    "$suite" "$root" ${mirror:+"$mirror"} >&2 || die "mmdebstrap failed (see above; it needs Debian's apt repositories)" 69

  say "phase configure"
  configure_guest "$root" "$public_key"

  say "phase image"
  local fs="$work/root.ext4" disk="$work/disk.raw" size=$((size_gib * 1024))
  # Features extlinux 6.04 can read; the rest of the defaults stay.
  mkfs.ext4 -q -F -L root -O '^metadata_csum_seed,^orphan_file' -d "$root" "$fs" "$((size - 1))M"
  mkdir "$work/mnt"
  mount -o loop "$fs" "$work/mnt"
  mounted="$work/mnt"
  extlinux --install "$work/mnt/boot/extlinux" >&2
  umount "$work/mnt"; mounted=""
  truncate -s "${size}M" "$disk"
  printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$disk"
  dd if="$mbr" of="$disk" bs=440 count=1 conv=notrunc status=none
  dd if="$fs" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
  mkdir "$work/box"
  qemu-img convert -f raw -O qcow2 "$disk" "$work/box/box.img"
  printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %d}\n' "$size_gib" >"$work/box/metadata.json"
  cat >"$work/box/Vagrantfile" <<'EOF'
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.disk_bus = "virtio"
    libvirt.nic_model_type = "virtio"
  end
end
EOF
  tar -C "$work/box" -cf "$out.part" metadata.json Vagrantfile box.img
  mv "$out.part" "$out"
  say "box written: $out ($(du -h "$out" | cut -f1))"
}

configure_guest() { # root public_key
  local root=$1 public_key=$2
  echo syscall-lab-box >"$root/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 syscall-lab-box\n' >"$root/etc/hosts"
  printf '/dev/vda1 / ext4 errors=remount-ro 0 1\n' >"$root/etc/fstab"
  # Vagrant's conventions, but no password: user vagrant, sudo without a password, its insecure key.
  chroot "$root" useradd --create-home --shell /bin/bash vagrant
  printf 'vagrant ALL=(ALL) NOPASSWD: ALL\nDefaults:vagrant !requiretty\n' >"$root/etc/sudoers.d/vagrant"
  chmod 0440 "$root/etc/sudoers.d/vagrant"
  configure_login "$root" "$public_key"
  # Every VM made from the box gets host keys and a machine id of its own.
  rm -f "$root"/etc/ssh/ssh_host_*
  : >"$root/etc/machine-id"
  cat >"$root/etc/systemd/system/ssh-host-keys.service" <<'EOF'
[Unit]
Description=Generate SSH host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
EOF
  # DHCP on whatever the NIC is called, by systemd-networkd (no extra package).
  printf '[Match]\nName=e*\n\n[Network]\nDHCP=ipv4\n' >"$root/etc/systemd/network/80-dhcp.network"
  chroot "$root" systemctl enable ssh-host-keys.service systemd-networkd.service >&2
  mkdir -p "$root/boot/extlinux"
  # console=ttyS0: the harness watches the serial console for oopses. net.ifnames=0: the NIC is
  # eth0 under Debian's kernel and under a minimal one alike.
  cat >"$root/boot/extlinux/extlinux.conf" <<'EOF'
DEFAULT debian
TIMEOUT 1
LABEL debian
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=/dev/vda1 ro console=ttyS0,115200 net.ifnames=0
EOF
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/*
}

# Key logins only, on the image's folder (no chroot: a unit test runs it on a temp folder):
#  - the vagrant user's password is "*" in /etc/shadow: no password matches it, and OpenSSH does not
#    take "*" for a locked account ("!" it may), so its keys still work; root's too if it has none;
#  - sshd takes no password: PasswordAuthentication, KbdInteractiveAuthentication and
#    PermitEmptyPasswords no, in a drop-in (bookworm's sshd_config includes sshd_config.d/*.conf
#    before its own settings, and sshd keeps the first value it reads);
#  - ~vagrant/.ssh/authorized_keys holds Vagrant's insecure key, which vagrant up replaces with a
#    key of its own on the first boot. Vagrant 2.3's insecure key is RSA, and OpenSSH 9 takes only
#    SHA-2 RSA signatures by default: ssh-rsa is accepted again.
configure_login() { # root public_key
  local root=$1 public_key=$2 shadow
  grep -q '^vagrant:' "$root/etc/shadow" 2>/dev/null || die "$root/etc/shadow has no vagrant user (useradd first)" 70
  # Rewritten in place: the file keeps its owner and mode (root:shadow 0640).
  shadow=$(awk -F: -v OFS=: '$1 == "vagrant" || ($1 == "root" && $2 == "") { $2 = "*" } { print }' "$root/etc/shadow")
  printf '%s\n' "$shadow" >"$root/etc/shadow"
  mkdir -p "$root/etc/ssh/sshd_config.d"
  cat >"$root/etc/ssh/sshd_config.d/vagrant.conf" <<'EOF'
# syscall-lab: key logins only (Vagrant's insecure key, then the key vagrant up puts in its place)
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PubkeyAuthentication yes
PubkeyAcceptedAlgorithms +ssh-rsa
UseDNS no
EOF
  install -d -m 0700 "$root/home/vagrant/.ssh"
  install -m 0600 "$public_key" "$root/home/vagrant/.ssh/authorized_keys"
  [ "$(id -u)" != 0 ] || chown -R 1000:1000 "$root/home/vagrant/.ssh" # the image's first user
}

out="" work="" mounted=""
cleanup() {
  [ -z "$mounted" ] || umount "$mounted" 2>/dev/null || true
  [ -z "$work" ] || rm -rf "$work"
  [ -z "${out:-}" ] || rm -f "$out.part"
}

# Sourced (the unit test of configure_login), it only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; exit $?; fi
