"""POSIX sh scripts run on the destination (given on stdin to `sh -s`).
They need only util-linux, parted, e2fsprogs, qemu-img and coreutils."""
from __future__ import absolute_import, division, print_function

# $1 folder, then the command (rm -f, or rmdir) for the NUL-separated
# names on stdin, relative to the folder, in their order.
REMOVE_NAMES = r'''set -eu
cd "$1"
shift
xargs -0 -r "$@" --
'''

# $1 image  $2 size in bytes  $3 root end (NMiB or 100%)  $4 swap MiB (0: none)
# The image holds /etc/shadow, root's keys and the database: 0600 (umask for
# a new one, chmod for one an earlier run left); libvirt's dynamic ownership
# hands it to qemu when the guest starts.
CREATE_IMAGE = r'''set -eu
img=$1 size=$2 root_end=$3 swap=$4
umask 077
qemu-img create -q -f raw "$img" "$size"
chmod 0600 "$img"
parted -s "$img" mklabel msdos mkpart primary ext4 1MiB "$root_end" \
  set 1 boot on
if [ "$swap" -gt 0 ]; then
  parted -s "$img" mkpart primary linux-swap "${root_end}MiB" 100%
fi
'''

# $1 image. Prints the loop device; its partitions appear as ${dev}pN.
ATTACH = r'''set -eu
img=$1
dev=$(losetup -j "$img" | sed -n '1s/:.*//p')
if [ -z "$dev" ]; then dev=$(losetup --find --show --partscan "$img"); fi
# Without udev the kernel may not scan the table: ask partx.
if [ ! -b "${dev}p1" ]; then partx -a "$dev" >/dev/null 2>&1 || true; fi
n=0
while [ ! -b "${dev}p1" ]; do
  n=$((n + 1))
  if [ "$n" -gt 50 ]; then
    echo "no partition device ${dev}p1 after attaching $img" >&2; exit 1
  fi
  sleep 0.1
done
echo "$dev"
'''

# $1 device  $2 root uuid  $3 swap uuid or ""  then mkfs.ext4 -O options
MKFS = r'''set -eu
dev=$1 root_uuid=$2 swap_uuid=$3
shift 3
mkfs.ext4 -q -F -L fuel-root -U "$root_uuid" "$@" "${dev}p1"
if [ -n "$swap_uuid" ]; then mkswap -L fuel-swap -U "$swap_uuid" "${dev}p2" >/dev/null; fi
'''

# $1 device  $2 mount point
MOUNT = r'''set -eu
dev=$1 mnt=$2
mkdir -p "$mnt"
if ! mountpoint -q "$mnt"; then mount -t ext4 "${dev}p1" "$mnt"; fi
'''

# $1 image  $2 mount point. Safe to run when nothing is attached. The
# rsync --server of a sync killed on the master (a timeout) holds the
# mount until it notices its connection is gone: umount is tried again
# for up to 10 s (its error is the last try's).
RELEASE_DISK = r'''set -eu
img=$1 mnt=$2
for p in "$mnt/sys" "$mnt/proc" "$mnt/dev"; do
  if mountpoint -q "$p" 2>/dev/null; then umount "$p"; fi
done
n=0
while mountpoint -q "$mnt" 2>/dev/null && ! umount "$mnt" 2>/dev/null; do
  n=$((n + 1))
  if [ "$n" -ge 50 ]; then umount "$mnt"; fi
  sleep 0.2
done
if [ -d "$mnt" ]; then rmdir "$mnt"; fi
for dev in $(losetup -j "$img" | cut -d: -f1); do
  partx -d "$dev" >/dev/null 2>&1 || true
  losetup -d "$dev"
done
'''

# $1 mount point  $2 its device (/dev/loopNp1). Fails on a lost write:
# sync -f reports writeback errors (coreutils 8.24+ and Linux 5.8+; older
# ones get a plain sync and the e2fsck after it), ext4 counts its errors.
FLUSH = r'''set -u
mnt=$1 part=${2##*/}
if sync --help 2>&1 | grep -q -- '--file-system'; then
  sync -f "$mnt" || exit 1
else
  sync
fi
count=/sys/fs/ext4/$part/errors_count
if [ -r "$count" ] && [ "$(cat "$count")" != 0 ]; then
  echo "ext4 on $part met $(cat "$count") error(s)" >&2; exit 1
fi
'''

# $1 root partition (/dev/loopNp1): a read-only check, unmounted.
FSCK = r'''set -u
e2fsck -n -f "$1" >&2
'''

# $1 mount point  $2 loop device  $3 root uuid
# GRUB 2 from the copy itself, in a chroot whose /dev is a private tmpfs
# holding only what grub needs, including the by-uuid link udev would make
# (without it grub-mkconfig writes root=/dev/loopNp1). Prints "wrote PATH"
# for each file (or new empty folder) it changed in the copy: the final
# sync must keep them.
BOOT_LOADER = r'''set -eu
mnt=$1 dev=$2 uuid=$3
part=${dev}p1
stamp=$(mktemp)
cleanup() {
  for p in "$mnt/sys" "$mnt/proc" "$mnt/dev"; do
    if mountpoint -q "$p" 2>/dev/null; then umount "$p" || umount -l "$p"; fi
  done
}
trap 'cleanup; rm -f "$stamp"' EXIT
cleanup
mkdir -p "$mnt/dev" "$mnt/proc" "$mnt/sys"
mount -t tmpfs -o mode=0755,size=16m rfm-chroot-dev "$mnt/dev"
cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom "$dev" "$part" \
  "$mnt/dev/"
mkdir -p "$mnt/dev/disk/by-uuid"
ln -s "../../${part##*/}" "$mnt/dev/disk/by-uuid/$uuid"
mount -t proc proc "$mnt/proc"
mount --bind /sys "$mnt/sys"
inroot() {
  chroot "$mnt" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    LC_ALL=C HOME=/root "$@"
}
has() { inroot sh -c "command -v $1" >/dev/null 2>&1; }
if has grub-install; then
  inroot grub-install --target=i386-pc "$dev"
  if has update-initramfs; then inroot update-initramfs -u -k all; fi
  if has update-grub; then inroot update-grub
  else inroot grub-mkconfig -o /boot/grub/grub.cfg; fi
  cfg=$mnt/boot/grub/grub.cfg
elif has grub2-install; then
  inroot grub2-install --target=i386-pc "$dev"
  if has dracut; then
    # no host-only image: the guest needs virtio drivers the old host lacked
    for k in $(ls "$mnt/lib/modules"); do
      [ -e "$mnt/boot/vmlinuz-$k" ] || continue
      inroot dracut -f --no-hostonly "/boot/initramfs-$k.img" "$k"
    done
  fi
  inroot grub2-mkconfig -o /boot/grub2/grub.cfg
  cfg=$mnt/boot/grub2/grub.cfg
else
  echo "the copy has neither grub-install nor grub2-install" >&2; exit 3
fi
if grep -q '/dev/loop' "$cfg"; then
  echo "$cfg names the loop device /dev/loop*; it would not boot" >&2; exit 4
fi
find "$mnt" -xdev \( ! -type d -o -type d -empty \) -cnewer "$stamp" \
  -printf 'wrote %P\n'
echo "boot loader installed, config $cfg"
'''

# $1 folder. Prints: tools missing, then df -Pk of the folder.
PROBE = r'''set -u
dir=$1
for tool in qemu-img losetup partx parted mkfs.ext4 e2fsck mkswap mount \
    umount mountpoint rsync virsh chroot; do
  command -v "$tool" >/dev/null 2>&1 || echo "missing-tool $tool"
done
if [ -d "$dir" ]; then df -Pk "$dir" | sed -n '2p' | sed 's/^/df /'
else echo "missing-dir $dir"; fi
mke2fs -V 2>&1 | sed -n '1s/^/mke2fs-version /p'
'''

# $@ bridges. Prints each missing one.
BRIDGES = r'''for br in "$@"; do
  [ -e "/sys/class/net/$br" ] || echo "missing-bridge $br"
done
'''

# $@ the paths a run makes (images, xml, mount point). Prints what exists.
EXISTING = r'''for f in "$@"; do [ -e "$f" ] && echo "exists $f"; done
exit 0
'''

# $1 image  $2 its migration-done marker  $3 our guest. Prints what else
# claims the image: the marker of a finished migration, other domains' disks.
IMAGE_CLAIMS = r'''set -u
img=$1 marker=$2 self=$3
if [ -e "$marker" ]; then echo "done-marker $marker"; fi
doms=$(virsh -c qemu:///system list --all --name) || exit 1
for dom in $doms; do
  [ "$dom" = "$self" ] && continue
  virsh -c qemu:///system domblklist --details "$dom" |
    awk -v img="$img" '$4 == img { found = 1 } END { exit !found }' &&
    echo "used-by $dom"
done
exit 0
'''
