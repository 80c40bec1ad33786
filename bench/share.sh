#!/bin/sh
# The memory-bandwidth share of batch-1 decode (issue 22): every weight byte
# is read once per token, so decode_GBps = step_bytes (what one decode step
# reads: every matrix once and one row of the token embeddings, from logitlab
# bench) x tokens/s, and share =
# decode_GBps / the machine's read bandwidth (bench/membw.c; measured here
# unless MEMBW_GBPS is given). One JSON object per model.
# usage: bench/share.sh LOGITLAB MODEL... (THREADS, MEMBW_GBPS, GEN from the environment)
set -e
BIN=$1; shift
T=${THREADS:-$(nproc)}
OUT=$(dirname "$BIN")/bench
if [ -z "${MEMBW_GBPS:-}" ]; then
  mkdir -p "$OUT"
  cc -O2 -mavx2 -pthread -o "$OUT/membw" "$(dirname "$0")/membw.c"
  MEMBW_GBPS=$("$OUT/membw" "$T" | sed 's/.*"read_GBps":\([0-9.]*\).*/\1/')
fi
for MODEL in "$@"; do
  "$BIN" bench -m "$MODEL" -t "$T" -p 0 -n "${GEN:-32}" -r 3 -b 1 --json |
  awk -v bw="$MEMBW_GBPS" '/"test":"tg/ {
    size = $0; sub(/.*"size_bytes":/, "", size); sub(/,.*/, "", size)
    if ($0 ~ /"step_bytes":/) { size = $0; sub(/.*"step_bytes":/, "", size); sub(/[,}].*/, "", size) }
    tps = $0; sub(/.*"tokens_per_s":/, "", tps); sub(/,.*/, "", tps)
    model = $0; sub(/.*"model":"/, "", model); sub(/".*/, "", model)
    thr = $0; sub(/.*"threads":/, "", thr); sub(/,.*/, "", thr)
    g = size * tps / 1e9
    printf "{\"test\":\"membw_share\",\"model\":\"%s\",\"threads\":%d,\"tokens_per_s\":%.3f,\"step_bytes\":%d,\"decode_GBps\":%.3f,\"membw_GBps\":%.2f,\"share\":%.3f}\n", model, thr, tps, size, g, bw, g / bw }'
done
