#!/usr/bin/env bash
# Regenerates the answering-machine detection fixtures in
# internal/outbound/testdata/amd: short answers by a person, voicemail
# greetings (most ending in a beep), and silence or line noise, each an
# 8 kHz, 16-bit, mono WAV that went through G.711 mu-law and back, as the
# callee's audio does. labels.txt says what each clip is: "file label" or,
# for a greeting ending in a beep, "file machine END" with END the second at
# which the beep stops. Speech is synthesised (espeak-ng, flite) and noise by
# sox, with sox -R so a rerun writes the same files.
# Needs: apt-get install -y espeak-ng flite sox
set -euo pipefail
out=$(dirname "$0")/../internal/outbound/testdata/amd
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
labels="$out/labels.txt"
: >"$labels"

fmt=(-r 8000 -c 1 -b 16 -e signed-integer)
sx() { sox -R -D "$@"; }

# speak out engine voice speed pitch level text: speech band-limited to the
# telephone band, normalised to a peak of level dBFS, and without the
# silence the synthesiser pads it with (so lead and wait times are exact). engine is espeak
# (speed in words a minute, pitch 0-99) or flite (speed and pitch unused).
speak() {
  local o=$1 engine=$2 voice=$3 speed=$4 pitch=$5 level=$6 text=$7
  if [[ $engine == flite ]]; then
    flite -voice "$voice" -t "$text" -o "$tmp/raw.wav"
  else
    espeak-ng -v "$voice" -s "$speed" -p "$pitch" -w "$tmp/raw.wav" "$text"
  fi
  sx "$tmp/raw.wav" "${fmt[@]}" "$o" highpass 200 lowpass 3400 norm "$level" \
    silence 1 0.02 -45d reverse silence 1 0.02 -45d reverse
}
silence() { sx -n "${fmt[@]}" "$2" trim 0 "$1"; }            # dur out
tone() { sx -n "${fmt[@]}" "$3" synth "$2" sine "$1" gain -8; } # freq dur out
dur() { soxi -D "$1"; }

# finish name label noise [beep-end]: mixes in noise ("-" for none, else
# "pinknoise|whitenoise|brownnoise VOLUME"), passes the clip through mu-law
# and records its label.
finish() {
  local name=$1 label=$2 noise=$3 end=${4:-}
  local src=$tmp/clip.wav
  if [[ $noise != - ]]; then
    read -r kind vol <<<"$noise"
    sx -n "${fmt[@]}" "$tmp/noise.wav" synth "$(dur "$src")" "$kind" vol "$vol"
    sx -m -v 1 "$src" -v 1 "$tmp/noise.wav" "$tmp/mixed.wav"
    src=$tmp/mixed.wav
  fi
  sx "$src" -t wav -e mu-law "$tmp/ulaw.wav"
  sx "$tmp/ulaw.wav" "${fmt[@]}" "$out/$name.wav"
  echo "$name.wav $label${end:+ $end}" >>"$labels"
}

# human name lead engine voice speed pitch level noise text: a person
# answers after lead seconds, says text, and waits 2 s for the caller.
human() {
  local name=$1 lead=$2 noise=$8
  silence "$lead" "$tmp/lead.wav"
  speak "$tmp/say.wav" "$3" "$4" "$5" "$6" "$7" "$9"
  silence 2 "$tmp/wait.wav"
  sx "$tmp/lead.wav" "$tmp/say.wav" "$tmp/wait.wav" "$tmp/clip.wav"
  finish "$name" human "$noise"
}

# machine name lead engine voice speed pitch level noise beep text: a
# voicemail greeting, then (beep in Hz, 0 for none) a 0.5 s beep after a
# short gap, then a little silence while it records.
machine() {
  local name=$1 lead=$2 noise=$8 beep=$9 end=
  silence "$lead" "$tmp/lead.wav"
  speak "$tmp/say.wav" "$3" "$4" "$5" "$6" "$7" "${10}"
  silence 0.3 "$tmp/gap.wav"
  silence 0.3 "$tmp/rec.wav"
  if [[ $beep != 0 ]]; then
    tone "$beep" 0.5 "$tmp/beep.wav"
    sx "$tmp/lead.wav" "$tmp/say.wav" "$tmp/gap.wav" "$tmp/beep.wav" "$tmp/pre.wav"
    end=$(printf '%.2f' "$(dur "$tmp/pre.wav")")
    sx "$tmp/pre.wav" "$tmp/rec.wav" "$tmp/clip.wav"
  else
    sx "$tmp/lead.wav" "$tmp/say.wav" "$tmp/gap.wav" "$tmp/rec.wav" "$tmp/clip.wav"
  fi
  finish "$name" machine "$noise" "$end"
}

# unknown name dur noise: nobody speaks, silence or line noise.
unknown() {
  silence "$2" "$tmp/clip.wav"
  finish "$1" unknown "$3"
}

#     name lead engine voice speed pitch level noise text
human h01 0.3 espeak en-us 160 50 -3 - "Hello?"
human h02 0.2 espeak en+f3 170 60 -3 - "Hi, this is Ann."
human h03 0.3 espeak en-us 180 45 -4 - "Hello, who's calling?"
human h04 0.5 espeak en-gb-x-rp 140 35 -10 - "Hello."
human h05 0.3 espeak en+f2 190 70 -3 - "Yeah, hello?"
human h06 0.2 espeak en-us+m3 165 30 -6 - "Hi."
human h07 0.3 espeak en-us-nyc 175 50 -5 "pinknoise 0.02" "Who is this?"
human h08 0.3 espeak en+f4 160 65 -3 "whitenoise 0.01" "Good morning."
human h09 0.4 espeak en-gb-scotland 150 45 -8 "pinknoise 0.08" "Hello?"
human h10 0.2 espeak en+f5 185 60 -4 "brownnoise 0.02" "Hey, what's up?"
human h11 0.3 flite slt 0 0 -3 - "Hello, who's calling?"
human h12 0.4 flite kal 0 0 -6 "pinknoise 0.02" "Hello?"
human h13 0.3 flite awb 0 0 -3 - "Hi, this is Mark."
human h14 0.3 espeak en-us 170 55 -4 - "Hello? Hello?"
human h15 0.3 espeak en-gb 190 45 -3 - "Good afternoon, Johnson residence, Mark speaking."

#       name lead engine voice speed pitch level noise beep text
machine m01 0.3 espeak en-us 175 50 -3 - 1000 "Hi, you've reached John Smith. I can't take your call right now. Please leave a message after the tone."
machine m02 0.4 espeak en+f3 180 60 -4 - 440 "Hello, you've reached Sarah Jones. Please leave your name and number."
machine m03 0.2 espeak en-us 190 45 -3 - 1400 "Hi, it's Mike. Leave a message and I'll call you back."
machine m04 0.3 espeak en+f2 185 65 -3 "pinknoise 0.02" 1000 "Thank you for calling Acme Dental. Our office is closed. Please leave a message."
machine m05 0.3 espeak en-us-nyc 190 50 -3 "whitenoise 0.01" 440 "Hey, this is Tony. You know what to do."
machine m06 0.4 espeak en+f4 165 70 -5 - 1400 "Hello, you've reached the Garcia family. We can't come to the phone."
machine m07 0.2 espeak en-029 175 55 -9 - 850 "Hi, this is Dana. Sorry I missed you. Leave a message after the tone."
machine m08 0.3 flite slt 0 0 -3 - 1000 "Hi, you've reached Emily. I can't take your call, please leave a message."
machine m09 0.3 flite rms 0 0 -4 "pinknoise 0.03" 1000 "The number you have dialed is not available. Please leave a message after the tone."
machine m10 0.3 flite kal 0 0 -3 - 440 "Hello, this is Bob's Plumbing. Leave a message and we'll call you back."
machine m11 0.3 espeak en-us 170 50 -5 "pinknoise 0.02" 850 "Leave a message."
machine m12 0.3 espeak en-us 160 50 -3 - 0 "Hi, you've reached Laura. Please leave a message."
machine m13 0.3 espeak en-gb 175 40 -4 "brownnoise 0.02" 0 "Thanks for calling. Nobody can take your call right now."

#       name dur noise
unknown u01 4 -
unknown u02 4 "pinknoise 0.01"
unknown u03 4 "whitenoise 0.01"
unknown u04 4 "pinknoise 0.04"
unknown u05 4 "brownnoise 0.03"
