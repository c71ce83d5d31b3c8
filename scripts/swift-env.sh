#!/usr/bin/env bash
# Swift 6 on Linux for ZeroPole's iOS package (ios/), via a cached Debian trixie chroot.
#
# Debian 12 has no Swift; Debian 13 (trixie) ships `swiftlang` (Swift 6.0.x with XCTest and
# Swift Testing). This script keeps a minimal trixie chroot outside the work tree and runs
# commands in it with the repository bind-mounted at the same absolute path.
#
#   scripts/swift-env.sh setup                 build the chroot once (idempotent, root only)
#   scripts/swift-env.sh run <dir> <cmd...>    run <cmd...> in <dir> (a path inside the repo)
#
# Environment:
#   ZEROPOLE_SWIFT_ROOT   chroot location (default /var/cache/zeropole/swift-trixie)
#   ZEROPOLE_SWIFT_MIRROR Debian mirror   (default http://deb.debian.org/debian)
#   ZEROPOLE_LIB_DIR      directory holding libzeropole_ffi.so; passed into the chroot and
#                         put first on LD_LIBRARY_PATH (bind-mounted too if outside the repo)
#   LD_LIBRARY_PATH       passed into the chroot
#
# Mounts are made in a private mount namespace (unshare) and also unmounted on exit, so no
# mount outlives the script, whatever happens to it. The command's exit code is ours.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd -P)"
SWIFT_ROOT="${ZEROPOLE_SWIFT_ROOT:-/var/cache/zeropole/swift-trixie}"
SWIFT_ROOT="${SWIFT_ROOT%/}"
MIRROR="${ZEROPOLE_SWIFT_MIRROR:-http://deb.debian.org/debian}"
SUITE=trixie
PACKAGES=(swiftlang libc6-dev libstdc++-14-dev)
MARKER_NAME=.zeropole-swift-ready
LOCK_FILE="$SWIFT_ROOT.lock"

log() { printf 'swift-env: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot and mount need it); try: sudo $0 $*"
}

# Mount points at or below $1, deepest first (read from /proc/mounts; octal escapes decoded).
mounts_under() {
    local base=$1
    awk '{print $2}' /proc/mounts | while IFS= read -r mp; do
        mp=$(printf '%b' "$mp")
        if [[ $mp == "$base" || $mp == "$base"/* ]]; then
            printf '%s\n' "$mp"
        fi
    done | awk '{print length($0) "\t" $0}' | sort -rn | cut -f2-
}

# Unmount everything at or below $1. Tolerates nothing being mounted.
unmount_under() {
    local base=$1 mp tries
    for tries in 1 2 3; do
        local left=0
        while IFS= read -r mp; do
            [[ -n $mp ]] || continue
            left=1
            umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
        done < <(mounts_under "$base")
        [[ $left -eq 1 ]] || return 0
    done
    if [[ -n $(mounts_under "$base") ]]; then
        log "warning: could not unmount: $(mounts_under "$base" | tr '\n' ' ')"
        return 1
    fi
}

# Remove a directory tree, but never through a mount (a bind-mounted repository must not be
# deleted with the chroot).
safe_rm_tree() {
    local dir=$1
    [[ -e $dir ]] || return 0
    unmount_under "$dir" || die "refusing to delete $dir: mounts remain below it"
    rm -rf --one-file-system -- "$dir"
}

# The marker is written last, just before the atomic rename. usr/bin/swift is an absolute
# symlink (update-alternatives), so resolve it relative to the chroot.
is_ready() {
    [[ -f $SWIFT_ROOT/$MARKER_NAME && -L $SWIFT_ROOT/usr/bin/swift ]] || return 1
    local target
    target=$(readlink "$SWIFT_ROOT/usr/bin/swift")
    [[ $target == /* ]] || target=/usr/bin/$target
    [[ -x $SWIFT_ROOT$target ]]
}

with_lock() {
    mkdir -p "$(dirname "$SWIFT_ROOT")"
    exec 9>"$LOCK_FILE"
    flock 9
}

chroot_env() {
    local root=$1; shift
    chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
        LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

cmd_setup() {
    require_root setup
    is_ready && return 0
    with_lock
    is_ready && return 0 # another setup finished while we waited

    local start=$SECONDS
    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap; then
            apt-get update
            DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap
        fi
    fi

    local tmp
    # Leftovers of interrupted setups (and a target dir without the marker) are not trusted.
    for tmp in "$SWIFT_ROOT".tmp.*; do
        [[ -d $tmp ]] && { log "removing stale $tmp"; safe_rm_tree "$tmp"; }
    done
    if [[ -e $SWIFT_ROOT ]]; then
        log "removing incomplete $SWIFT_ROOT"
        safe_rm_tree "$SWIFT_ROOT"
    fi

    tmp=$(mktemp -d "$SWIFT_ROOT.tmp.XXXXXX")
    # shellcheck disable=SC2064
    trap "unmount_under '$tmp' || true; rm -rf --one-file-system -- '$tmp'" EXIT
    chmod 755 "$tmp"

    local setup_log=$SWIFT_ROOT.setup.log
    : >"$setup_log"
    quietly() { # run "$@" with its output in the log; show the log's tail if it fails
        "$@" >>"$setup_log" 2>&1 || {
            local rc=$?
            tail -n 30 "$setup_log" >&2
            die "failed ($rc): $* (full log: $setup_log)"
        }
    }
    log "debootstrap $SUITE into $tmp (about a minute; log: $setup_log)"
    quietly debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR"

    mount -t proc proc "$tmp/proc"
    log "installing ${PACKAGES[*]} (about a minute)"
    quietly chroot_env "$tmp" apt-get update
    quietly chroot_env "$tmp" apt-get install -y --no-install-recommends "${PACKAGES[@]}"
    chroot_env "$tmp" apt-get clean
    rm -rf "$tmp"/var/lib/apt/lists/*
    local version
    version=$(chroot_env "$tmp" swift --version 2>&1) || die "swift does not run in the new chroot: $version"
    umount "$tmp/proc"

    printf '%s\n' "$version" >"$tmp/$MARKER_NAME"
    mv -T "$tmp" "$SWIFT_ROOT"
    trap - EXIT
    exec 9>&- # release the lock
    log "ready in $((SECONDS - start)) s: $SWIFT_ROOT ($(head -n1 "$SWIFT_ROOT/$MARKER_NAME"))"
}

# Runs in a private mount namespace (see cmd_run): mount, chroot, unmount.
cmd_run_inner() {
    local dir=$1; shift
    local root=$SWIFT_ROOT
    local mounted=()
    cleanup() {
        local i
        for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
            umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || true
        done
        unmount_under "$root" >/dev/null 2>&1 || true
    }
    trap cleanup EXIT

    bind() { # bind <source dir> <absolute path inside chroot>
        local src=$1 dst=$root$2
        mkdir -p "$dst"
        if ! mountpoint -q "$dst"; then
            mount --bind "$src" "$dst"
            mounted+=("$dst")
        fi
    }

    if ! mountpoint -q "$root/proc"; then
        mount -t proc proc "$root/proc"
        mounted+=("$root/proc")
    fi
    bind "$REPO_ROOT" "$REPO_ROOT"
    local lib_dir=${ZEROPOLE_LIB_DIR:-}
    if [[ -n $lib_dir ]]; then
        [[ -d $lib_dir ]] || die "ZEROPOLE_LIB_DIR=$lib_dir is not a directory"
        lib_dir=$(cd "$lib_dir" && pwd -P)
        [[ $lib_dir == "$REPO_ROOT" || $lib_dir == "$REPO_ROOT"/* ]] || bind "$lib_dir" "$lib_dir"
    fi

    local ld=${LD_LIBRARY_PATH:-}
    if [[ -n $lib_dir ]]; then ld=$lib_dir${ld:+:$ld}; fi
    local envs=(HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8)
    [[ -n ${TERM:-} ]] && envs+=("TERM=$TERM")
    [[ -n $lib_dir ]] && envs+=("ZEROPOLE_LIB_DIR=$lib_dir")
    [[ -n $ld ]] && envs+=("LD_LIBRARY_PATH=$ld")

    local rc=0
    chroot "$root" /usr/bin/env -i "${envs[@]}" \
        /bin/bash -c 'cd -- "$1" && shift && exec "$@"' swift-env "$dir" "$@" || rc=$?
    exit "$rc"
}

cmd_run() {
    [[ $# -ge 2 ]] || usage
    require_root run
    local dir=$1
    [[ -d $dir ]] || die "no such directory: $dir"
    dir=$(cd "$dir" && pwd -P)
    [[ $dir == "$REPO_ROOT" || $dir == "$REPO_ROOT"/* ]] ||
        die "$dir is outside the repository $REPO_ROOT (only the repository is visible in the chroot)"
    shift

    is_ready || cmd_setup
    # Mounts left in the host namespace by a crashed run of an older version of this script.
    if [[ -n $(mounts_under "$SWIFT_ROOT") ]]; then
        log "unmounting leftovers under $SWIFT_ROOT"
        unmount_under "$SWIFT_ROOT" || die "cannot unmount leftovers under $SWIFT_ROOT"
    fi

    if [[ ${ZEROPOLE_SWIFT_NS:-} != 1 ]] && unshare --mount --propagation private true 2>/dev/null; then
        # A private mount namespace: our mounts are invisible elsewhere and vanish with us,
        # even on SIGKILL. Concurrent runs do not disturb each other.
        ZEROPOLE_SWIFT_NS=1 exec unshare --mount --propagation private -- \
            "$SCRIPT_DIR/swift-env.sh" __inner "$dir" "$@"
    fi
    # No unshare: serialize runs, mount in the host namespace, unmount on exit.
    with_lock
    cmd_run_inner "$dir" "$@"
}

case "${1:-}" in
    setup) shift; [[ $# -eq 0 ]] || usage; cmd_setup ;;
    run) shift; cmd_run "$@" ;;
    __inner) shift; cmd_run_inner "$@" ;;
    *) usage ;;
esac
