#!/usr/bin/env bash
# Regenerates the demo's sounds in examples/sounds: speech from espeak-ng,
# hold music synthesised by sox (royalty-free: it is made here). Every file is
# 8 kHz, 16-bit, mono WAV. Needs: apt-get install -y espeak-ng sox
set -euo pipefail
out=$(dirname "$0")/../examples/sounds
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { # name text
  espeak-ng -v en-us -s 150 -w "$tmp/$1.wav" "$2"
  sox "$tmp/$1.wav" -r 8000 -c 1 -b 16 "$out/$1.wav" norm -3
}
say welcome "Thank you for calling Demo Company. For sales, press 1. For support, press 2."
say invalid-option "Sorry, that is not a valid option."
say closed "Thank you for calling Demo Company. We are closed right now. Please call again during our business hours."
say agent-logged-in "Agent logged in."
say agent-logged-out "Agent logged out."
say please-hold "Please hold while we connect you to the next available agent."

# Hold music: a gentle four-chord progression of sine tones, 8 seconds, looped by the server.
chords=("261.63 329.63 392.00" "220.00 261.63 329.63" "174.61 220.00 261.63" "196.00 246.94 293.66")
parts=()
for i in "${!chords[@]}"; do
  read -r a b c <<<"${chords[$i]}"
  sox -n -r 8000 -c 1 -b 16 "$tmp/c$i.wav" synth 2 sine "$a" sine "$b" sine "$c" remix - fade q 0.1 2 0.3 gain -10
  parts+=("$tmp/c$i.wav")
done
sox "${parts[@]}" "$out/hold-music.wav"
ls -l "$out"
