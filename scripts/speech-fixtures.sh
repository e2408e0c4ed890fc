#!/usr/bin/env bash
# Regenerates the speech fixtures in internal/speech/testdata: short
# utterances synthesised by espeak-ng and flite, band-limited to the
# telephone band and passed through G.711 mu-law and back (8 kHz, 16-bit,
# mono WAV, as a caller's audio reaches the server), each with its
# reference text:
#   sentences.txt  "file|text"            transcription (word error)
#   menu.txt       "file|choice"          spoken menu choices (a grammar)
#   spot.txt       "file|phrase|start|end" keyword spotting: where the
#                                           phrase is, in seconds
# sox -R makes a rerun write the same files.
# Needs: apt-get install -y espeak-ng flite sox
set -euo pipefail
out=$(dirname "$0")/../internal/speech/testdata
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/speech-voice.sh"

voices=(flite:kal flite:slt flite:rms flite:awb espeak:en-us:150:45 espeak:en-gb:140:60)

sentences=(
  "i would like to check the balance on my account"
  "my internet has been down since yesterday morning"
  "can you send me a copy of the last invoice"
  "i want to cancel my subscription"
  "please transfer me to a supervisor"
  "the order number is four five six seven"
  "i was charged twice for the same order"
  "thank you very much for your help today"
  "when will the technician arrive"
  "i need to change my delivery address"
  "i would like a refund for the broken phone"
  "my password does not work any more"
  "can i speak to someone about my bill"
  "the package arrived damaged on tuesday"
  "i have been waiting for two weeks"
  "is there a cheaper plan for my family"
  "that is great thank you so much"
  "this is the third time i have called about this"
)
: >"$out/sentences.txt"
i=0
for s in "${sentences[@]}"; do
  v=${voices[$((i % ${#voices[@]}))]}
  f=$(printf 's%02d.wav' "$i")
  speak "$tmp/s.wav" "$v" "$s"
  silence 0.4 "$tmp/lead.wav"
  sx "$tmp/lead.wav" "$tmp/s.wav" "$tmp/lead.wav" "$out/$f"
  echo "$f|$s" >>"$out/sentences.txt"
  i=$((i + 1))
done

# Spoken menu choices, each by three voices, and two answers that are none.
: >"$out/menu.txt"
i=0
for choice in sales support billing; do
  for v in flite:kal flite:slt espeak:en-us:150:45; do
    f=$(printf 'm%02d.wav' "$i")
    speak "$tmp/m.wav" "$v" "$choice"
    silence 0.3 "$tmp/lead.wav"
    sx "$tmp/lead.wav" "$tmp/m.wav" "$tmp/lead.wav" "$out/$f"
    echo "$f|$choice" >>"$out/menu.txt"
    i=$((i + 1))
  done
done

# Phrases to spot, said inside a sentence. The sentence is synthesised
# whole (a word said alone sounds like no word in a sentence); where the
# phrase starts is the length of the words before it said alone, which
# ends them a little late (within the tests' half second).
: >"$out/spot.txt"
spot() { # file voice before phrase after
  local f=$1 v=$2 before=$3 phrase=$4 after=$5
  silence 0.8 "$tmp/lead.wav"
  speak "$tmp/a.wav" "$v" "$before"
  speak "$tmp/p.wav" "$v" "$before $phrase"
  speak "$tmp/s.wav" "$v" "$before $phrase $after"
  local start end
  start=$(echo "$(dur "$tmp/lead.wav") + $(dur "$tmp/a.wav")" | bc -l)
  end=$(echo "$(dur "$tmp/lead.wav") + $(dur "$tmp/p.wav")" | bc -l)
  sx "$tmp/lead.wav" "$tmp/s.wav" "$tmp/lead.wav" "$out/$f"
  printf '%s|%s|%.2f|%.2f\n' "$f" "$phrase" "$start" "$end" >>"$out/spot.txt"
}
spot k00.wav flite:rms "i want to" "cancel" "my subscription"
spot k01.wav flite:slt "i would like to" "cancel" "the contract today"
spot k02.wav flite:awb "please let me speak to a" "supervisor" "right now"
spot k03.wav flite:rms "i am asking for a" "refund" "of the last payment"
spot k04.wav flite:kal "can i get a" "refund" "please"
spot k05.wav flite:slt "i need a" "supervisor" "on the line"
spot k06.wav flite:kal "i am going to" "cancel" "everything"
spot k07.wav espeak:en-us:150:45 "where is my" "refund"  "for the order"
