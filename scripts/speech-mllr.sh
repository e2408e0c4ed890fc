#!/usr/bin/env bash
# Regenerates cmd/switchboard-speech/telephone.mllr: an MLLR transform that
# adapts Debian's en-us model (16 kHz, PTM) to telephone audio as the worker
# hears it (8 kHz G.711 through speech.Upsampler). The adaptation speech is
# synthesized (espeak-ng, flite: sentences not among the test fixtures);
# sphinxtrain's bw needs the model's mixture_weights, which Debian does not
# ship, so they are rebuilt from its sendump (docs/research/mllr.md).
# Needs: apt-get install -y sphinxtrain pocketsphinx sphinxbase-utils espeak-ng flite sox
set -euo pipefail
cd "$(dirname "$0")/.."
M=/usr/share/pocketsphinx/model/en-us
OUT=cmd/switchboard-speech/telephone.mllr
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. scripts/speech-voice.sh
go build -o "$tmp/worker" ./cmd/switchboard-speech

W=$tmp/model
mkdir -p "$W" "$tmp/wav" "$tmp/mfc" "$tmp/acc"
cp "$M/en-us/"{means,variances,transition_matrices,noisedict,feat.params} "$W/"
pocketsphinx_mdef_convert -text "$M/en-us/mdef" "$W/mdef.txt" >"$tmp/mdef.log" 2>&1 || { tail -20 "$tmp/mdef.log"; exit 1; }
python3 - "$M/en-us/sendump" "$W/mixture_weights" <<'PY'
import math, struct, sys
d = open(sys.argv[1], "rb").read()
NF, ND, NS, off = 3, 128, 5126, 640
assert struct.unpack_from("<2i", d, 632) == (ND, NS), "unexpected sendump layout"
tab = [math.exp(-b * 1024 * math.log(1.0001)) for b in range(256)]
out = []
for s in range(NS):
    for f in range(NF):
        v = [tab[d[off + (f * ND + c) * NS + s]] for c in range(ND)]
        z = sum(v)
        out.extend(x / z for x in v)
body = struct.pack("<4I", NS, NF, ND, NS * NF * ND) + struct.pack("<%df" % len(out), *out)
ck = 0
for (w,) in struct.iter_unpack("<I", body):
    ck = (((ck << 20) | (ck >> 12)) + w) & 0xFFFFFFFF
hdr = b"s3\nversion 1.0\nchksum0 yes\n" + b" " * 6 + b"endhdr\n"
open(sys.argv[2], "wb").write(hdr + struct.pack("<I", 0x11223344) + body + struct.pack("<I", ck))
PY

voices=(flite:kal flite:slt flite:rms flite:awb espeak:en-us:150:45 espeak:en-gb:140:60)
sentences=(
  "hello i am calling about my account"
  "could you tell me when my order will ship"
  "i moved last month and need to update my address"
  "the bill this month is higher than usual"
  "my phone keeps dropping calls at home"
  "can i pay by credit card over the phone"
  "i would like to speak with someone in sales"
  "the technician never showed up yesterday"
  "please send me the receipt by email"
  "how long is the warranty on this product"
  "i need help setting up my new router"
  "is there a discount for students"
  "my package was left at the wrong house"
  "what time does your store close on saturday"
  "i forgot my password and cannot log in"
  "the screen on my tablet is cracked"
  "can you check the status of my return"
  "i was promised a call back last week"
  "my account number is one two three four"
  "i would like to upgrade my plan"
  "the internet is very slow in the evening"
  "thank you for your patience"
  "can you repeat that please"
  "i am not happy with the service"
  "please hold while i check that for you"
  "your order has been shipped today"
  "is there anything else i can help you with"
  "i will transfer you to the billing team"
  "let me look up your account"
  "the payment was received on monday"
)
: >"$tmp/adapt.fileids"
: >"$tmp/adapt.transcription"
i=0
for s in "${sentences[@]}"; do
  for v in "${voices[$((i % ${#voices[@]}))]}" "${voices[$(((i + 3) % ${#voices[@]}))]}"; do
    f=$(printf 'a%03d' "$i")
    speak "$tmp/s.wav" "$v" "$s"
    silence 0.3 "$tmp/lead.wav"
    sx "$tmp/lead.wav" "$tmp/s.wav" "$tmp/lead.wav" "$tmp/8k.wav"
    "$tmp/worker" -upsample "$tmp/8k.wav,$tmp/wav/$f.wav"
    echo "$f" >>"$tmp/adapt.fileids"
    echo "<s> $s </s> ($f)" >>"$tmp/adapt.transcription"
    i=$((i + 1))
  done
done

sphinx_fe -argfile "$W/feat.params" -samprate 16000 -mswav yes -remove_silence no \
  -c "$tmp/adapt.fileids" -di "$tmp/wav" -ei wav -do "$tmp/mfc" -eo mfc >"$tmp/fe.log" 2>&1 || { tail -20 "$tmp/fe.log"; exit 1; }
/usr/lib/sphinxtrain/bw -hmmdir "$W" -moddeffn "$W/mdef.txt" -mixwfn "$W/mixture_weights" \
  -ts2cbfn .ptm. -feat 1s_c_d_dd -svspec 0-12/13-25/26-38 -cmn batch -varnorm no -agc none -ceplen 13 \
  -mwfloor 1e-7 -dictfn "$M/cmudict-en-us.dict" -fdictfn "$W/noisedict" \
  -ctlfn "$tmp/adapt.fileids" -lsnfn "$tmp/adapt.transcription" -cepdir "$tmp/mfc" -cepext mfc \
  -accumdir "$tmp/acc" -timing no >"$tmp/bw.log" 2>&1 || { tail -20 "$tmp/bw.log"; exit 1; }
/usr/lib/sphinxtrain/mllr_solve -meanfn "$W/means" -varfn "$W/variances" -outmllrfn "$OUT" \
  -accumdir "$tmp/acc" >"$tmp/mllr.log" 2>&1 || { tail -20 "$tmp/mllr.log"; exit 1; }
echo "wrote $OUT from $i utterances ($(grep -c 'utt>' "$tmp/bw.log" || true) aligned)"
