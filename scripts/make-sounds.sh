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

# Waiting in a queue: position and estimated wait are built from these.
say you-are-caller-number "You are caller number"
say estimated-wait-about "Your estimated wait is about"
say estimated-wait-under-minute "Your estimated wait is less than a minute."
say estimated-wait-over-hour "Your estimated wait is more than an hour."
say minute "minute."
say minutes "minutes."
for n in $(seq 0 20) 30 40 50 60 70 80 90; do say "num-$n" "$n"; done
say num-star "star"
say num-pound "pound"
say queue-options "To be called back, press 1. To leave a message, press 2."
say callback-confirm "We will call you back at the number you are calling from. To confirm, press 1, or enter another number followed by the pound key."
say callback-at "We will call you back at"
say callback-confirmed "Thank you. You keep your place in line, and we will call you back when it is your turn. Goodbye."
say callback-invalid "Sorry, that is not a number we can call."
say callback-connecting "Callback. Connecting you to the customer now."
say callback-no-answer "The customer did not answer. The callback will be tried again later."
say voicemail-greeting "Please leave a message after the tone. When you are finished, press the pound key or hang up."
say voicemail-saved "Thank you. Your message has been saved. Goodbye."
say queue-full "All our agents are busy and too many callers are waiting. Please call again later. Goodbye."
say no-agents "Sorry, nobody is available to take your call right now. Please call again later. Goodbye."
say still-holding "Thank you for holding. Your agent will be right with you."
# Outbound campaigns: what a person hears when no agent is free in time (a
# drop), and the demo's message left on answering machines.
say outbound-identification "This is Demo Company calling. We are sorry we missed you. We will call you back. To stop our calls, call 5 5 5, 0 1 0 0."
say outbound-message "Hello, this is Demo Company. Please call us back at 5 5 5, 0 1 0 0. Thank you."
sox -n -r 8000 -c 1 -b 16 "$out/beep.wav" synth 0.4 sine 1000 gain -6
# The load generator's called party (switchboard load --callee): a person's
# short "Hello?" and an answering machine's greeting ending in its beep.
sox -n -r 8000 -c 1 -b 16 "$tmp/lead.wav" trim 0 0.3
sox -n -r 8000 -c 1 -b 16 "$tmp/gap.wav" trim 0 0.4
sox -n -r 8000 -c 1 -b 16 "$tmp/tone.wav" synth 0.5 sine 1000 gain -6
espeak-ng -v en-us -s 160 -w "$tmp/hello.wav" "Hello?"
sox "$tmp/hello.wav" -r 8000 -c 1 -b 16 "$tmp/hello8.wav" norm -3
sox "$tmp/lead.wav" "$tmp/hello8.wav" "$out/callee-hello.wav"
espeak-ng -v en-us -s 165 -w "$tmp/vm.wav" "Hi, you have reached the Miller family. We can't come to the phone right now. Please leave a message after the tone."
sox "$tmp/vm.wav" -r 8000 -c 1 -b 16 "$tmp/vm8.wav" norm -3
sox "$tmp/lead.wav" "$tmp/vm8.wav" "$tmp/gap.wav" "$tmp/tone.wav" "$out/callee-voicemail.wav"
# Ringback an agent hears while a callback rings the customer: 440+480 Hz, 2 s on, 4 s off.
sox -n -r 8000 -c 1 -b 16 "$tmp/rb.wav" synth 2 sine 440 sine 480 remix - gain -12
sox "$tmp/rb.wav" "$out/ringback.wav" pad 0 4

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
