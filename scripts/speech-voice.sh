# Shared by scripts/speech-fixtures.sh and scripts/speech-mllr.sh (sourced):
# synthesize an utterance as a telephone caller's audio reaches the server.
# Needs $tmp set; espeak-ng, flite, sox.
fmt=(-r 8000 -c 1 -b 16 -e signed-integer)
sx() { sox -R -D "$@"; }

# speak out voice text: voice is flite:NAME or espeak:NAME:SPEED:PITCH; the
# speech band-limited to the telephone band, normalised, trimmed of the
# synthesizer's silence and passed through mu-law and back (8 kHz 16-bit).
speak() {
  local o=$1 voice=$2 text=$3
  IFS=: read -r engine name speed pitch <<<"$voice"
  if [[ $engine == flite ]]; then
    flite -voice "$name" -t "$text" -o "$tmp/raw.wav"
  else
    espeak-ng -v "$name" -s "$speed" -p "$pitch" -w "$tmp/raw.wav" "$text"
  fi
  sx "$tmp/raw.wav" "${fmt[@]}" "$tmp/band.wav" highpass 250 lowpass 3400 norm -6 \
    silence 1 0.02 -45d reverse silence 1 0.02 -45d reverse
  sx "$tmp/band.wav" -r 8000 -c 1 -e mu-law "$tmp/ulaw.wav"
  sx "$tmp/ulaw.wav" "${fmt[@]}" "$o"
}
silence() { sx -n "${fmt[@]}" "$2" trim 0 "$1"; } # dur out
dur() { soxi -D "$1"; }
