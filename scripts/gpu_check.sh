#!/usr/bin/env bash
# One command for a machine with a CUDA GPU and no network (fits in ~8 minutes on an H100):
#   1. installs the wheels brought along in $WHEELS (default .whl/; PyAV is the one CUDA images lack),
#   2. runs the tests marked `gpu`,
#   3. a short run of each recipe on CUDA,
#   4. the benchmarks on the GPU (quick settings),
# then prints a table of what passed and how long it took. Output files go to $OUT (default runs/gpu_check).
#
# Fetch the wheels on a machine with a network, for the GPU machine's Python (3.12 here):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl "av>=18,<19" omegaconf antlr4-python3-runtime==4.9.3
set -uo pipefail
cd "$(dirname "$0")/.."
WHEELS=${WHEELS:-.whl}
OUT=${OUT:-runs/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

if compgen -G "$WHEELS/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/multigan-site "$WHEELS"/*.whl || exit 1
  export PYTHONPATH=/tmp/multigan-site:$PWD${PYTHONPATH:+:$PYTHONPATH}
else
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.__version__, torch.cuda.get_device_name())" || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null

declare -a NAMES RESULTS TIMES
step() {  # step NAME COMMAND...
  local name=$1; shift
  local start=$SECONDS
  echo "=== $name: $*"
  if "$@" > "$OUT/$name.log" 2>&1; then RESULTS+=("ok"); else RESULTS+=("FAILED (see $OUT/$name.log)"); fi
  NAMES+=("$name"); TIMES+=("$((SECONDS - start))")
  tail -n 15 "$OUT/$name.log"
}

step gpu-tests python3 -m pytest -q -m gpu tests
for recipe in image text video video_keywords translate audio; do
  if [ -f "recipes/tiny/$recipe.yaml" ]; then
    step "recipe-$recipe" python3 -m "multigan.recipes.${recipe%%_*}" --config "recipes/tiny/$recipe.yaml" \
      "out_dir=$OUT/$recipe" device=cuda train.steps=50 train.eval_every=25
  fi
done
[ -f recipes/tiny/audio.yaml ] && step recipe-audio-waveform python3 -m multigan.recipes.audio \
  --config recipes/tiny/audio.yaml "out_dir=$OUT/audio_waveform" device=cuda train.steps=50 mode=waveform
# The benchmarks pick the GPU through their configs' device=auto.
[ -f scripts/bench_image.py ] && step bench-image python3 scripts/bench_image.py --quick --write
[ -f scripts/bench_video.py ] && step bench-video python3 scripts/bench_video.py --steps 100
[ -f scripts/bench_text_oracle.py ] && step bench-text timeout 240 python3 scripts/bench_text_oracle.py --scale mini --device cuda
[ -f scripts/bench_audio.py ] && step bench-audio python3 scripts/bench_audio.py --steps 500 --no-write
[ -f scripts/bench_translate.py ] && step bench-translate python3 scripts/bench_translate.py --runs default cut --steps 300 --skip-step-cost --no-write

echo
printf '%-16s %-8s %s\n' step seconds result
for i in "${!NAMES[@]}"; do printf '%-16s %-8s %s\n' "${NAMES[$i]}" "${TIMES[$i]}" "${RESULTS[$i]}"; done
for r in "${RESULTS[@]}"; do [ "$r" = ok ] || exit 1; done
