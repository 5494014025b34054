#!/bin/busybox sh
# PID 1 of the reproduction VM. Mounts the host's root filesystem (shared read-only
# over virtio-9p, tag "hostroot") with fresh proc/sys/dev and tmpfs for the writable
# places, mounts the results folder (tag "results", writable) at /tmp/results inside
# it, runs /tmp/results/job.sh there as root and powers off. The host reads the job's
# files from the results folder and progress lines ("nethealth-vm: ...") from the
# serial console. qemu runs with -no-reboot, so `reboot -f` ends it.
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

say() { echo "nethealth-vm: $*"; }
finish() { sync; say "exit $1"; reboot -f; sleep 5; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say "booted in $(cut -d' ' -f1 /proc/uptime) s, $(grep -c ^processor /proc/cpuinfo) CPUs, kernel $(uname -r)"

opts=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$opts,ro,cache=loose" hostroot /host || { say "cannot mount hostroot"; finish 97; }
for dir in tmp run dev; do
  [ -d "/host/$dir" ] || { say "host has no /$dir"; finish 97; }
done
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount -t devtmpfs devtmpfs /host/dev
mkdir -p /host/dev/shm
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm
mount -t tmpfs -o mode=1777 tmpfs /host/tmp
mount -t tmpfs -o mode=755 tmpfs /host/run
mkdir -p /host/tmp/results /host/run/netns
# Host folders shared at their own path (nethealth.share=TAG:PATH on the kernel command
# line), mounted over the fresh tmpfs: the project's checkout may live under /tmp.
for item in $(cat /proc/cmdline); do
  case "$item" in
    nethealth.share=*)
      spec=${item#nethealth.share=}
      tag=${spec%%:*}
      dir=${spec#*:}
      mkdir -p "/host$dir" 2>/dev/null
      mount -t 9p -o "$opts,ro,cache=loose" "$tag" "/host$dir" || { say "cannot mount $tag at $dir"; finish 97; }
      ;;
  esac
done
mount -t 9p -o "$opts" results /host/tmp/results || { say "cannot mount results"; finish 97; }
[ -f /host/tmp/results/job.sh ] || { say "no job.sh in the results folder"; finish 98; }

say "job starts at $(cut -d' ' -f1 /proc/uptime) s"
HOME=/tmp chroot /host /bin/sh /tmp/results/job.sh > /host/tmp/results/job.log 2>&1
code=$?
say "job ended at $(cut -d' ' -f1 /proc/uptime) s"
tail -n 40 /host/tmp/results/job.log
umount /host/tmp/results
finish "$code"
