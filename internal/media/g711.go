package media

// G.711 µ-law (PCMU) and A-law (PCMA), ITU-T G.711. Encoding, decoding
// (g711Tables) and µ↔A transcoding (Transcoder) use tables built once per
// process, so the per-packet and per-frame paths are a lookup a sample.

const (
	ulawBias = 0x84
	ulawClip = 32635
)

// EncodeULaw converts one 16-bit linear sample to µ-law.
func EncodeULaw(s int16) byte {
	sample := int(s)
	sign := 0
	if sample < 0 {
		sample = -sample
		sign = 0x80
	}
	if sample > ulawClip {
		sample = ulawClip
	}
	sample += ulawBias
	exponent := 7
	for mask := 0x4000; sample&mask == 0 && exponent > 0; mask >>= 1 {
		exponent--
	}
	mantissa := (sample >> (exponent + 3)) & 0x0F
	return ^byte(sign | exponent<<4 | mantissa)
}

// DecodeULaw converts one µ-law byte to a 16-bit linear sample.
func DecodeULaw(u byte) int16 {
	u = ^u
	sign := u & 0x80
	exponent := int(u>>4) & 0x07
	mantissa := int(u & 0x0F)
	sample := ((mantissa << 3) + ulawBias) << exponent
	sample -= ulawBias
	if sign != 0 {
		return int16(-sample)
	}
	return int16(sample)
}

// EncodeALaw converts one 16-bit linear sample to A-law.
func EncodeALaw(s int16) byte {
	sample := int(s)
	sign := 0x80
	if sample < 0 {
		sample = -sample - 1
		sign = 0x00
	}
	if sample > 32767 {
		sample = 32767
	}
	var out int
	if sample >= 256 {
		exponent := 7
		for mask := 0x4000; sample&mask == 0 && exponent > 1; mask >>= 1 {
			exponent--
		}
		mantissa := (sample >> (exponent + 3)) & 0x0F
		out = exponent<<4 | mantissa
	} else {
		out = sample >> 4
	}
	return byte((out | sign) ^ 0x55)
}

// DecodeALaw converts one A-law byte to a 16-bit linear sample.
func DecodeALaw(a byte) int16 {
	a ^= 0x55
	sign := a & 0x80
	exponent := int(a>>4) & 0x07
	mantissa := int(a & 0x0F)
	var sample int
	if exponent == 0 {
		sample = (mantissa << 4) + 8
	} else {
		sample = ((mantissa << 4) + 0x108) << (exponent - 1)
	}
	if sign == 0 {
		return int16(-sample)
	}
	return int16(sample)
}

// Transcoder holds the tables that convert G.711 payloads between µ-law and A-law.
type Transcoder struct {
	uToA [256]byte
	aToU [256]byte
}

// NewTranscoder builds the conversion tables.
func NewTranscoder() *Transcoder {
	t := &Transcoder{}
	for i := 0; i < 256; i++ {
		t.uToA[i] = EncodeALaw(DecodeULaw(byte(i)))
		t.aToU[i] = EncodeULaw(DecodeALaw(byte(i)))
	}
	return t
}

// Convert writes src, encoded as from, into dst encoded as to. dst must be
// at least len(src) long; src and dst may be the same slice.
func (t *Transcoder) Convert(dst, src []byte, from, to Codec) {
	switch {
	case from == to:
		copy(dst, src)
	case from == PCMU && to == PCMA:
		for i, b := range src {
			dst[i] = t.uToA[b]
		}
	case from == PCMA && to == PCMU:
		for i, b := range src {
			dst[i] = t.aToU[b]
		}
	}
}

// g711Tables are the decoding tables (256 entries a law) and the encoding
// ones (a byte for each of the 65,536 linear values), built once per
// process and never written after: the per-packet and per-frame paths are
// one lookup a sample instead of a call and its arithmetic.
type g711Tables struct {
	decU, decA [256]int16
	encU, encA [1 << 16]byte
}

var g711 = func() *g711Tables {
	t := &g711Tables{}
	for i := range 256 {
		t.decU[i], t.decA[i] = DecodeULaw(byte(i)), DecodeALaw(byte(i))
	}
	for i := range 1 << 16 {
		s := int16(uint16(i))
		t.encU[i], t.encA[i] = EncodeULaw(s), EncodeALaw(s)
	}
	return t
}()

// Encode encodes linear samples with codec c into dst (len(dst) >= len(pcm)).
func Encode(c Codec, dst []byte, pcm []int16) {
	enc := &g711.encU
	if c == PCMA {
		enc = &g711.encA
	}
	if len(dst) < len(pcm) {
		panic("media: Encode: dst shorter than pcm")
	}
	for i, s := range pcm {
		dst[i] = enc[uint16(s)]
	}
}

// Decode decodes G.711 bytes into linear samples (len(dst) >= len(src)).
func Decode(c Codec, dst []int16, src []byte) {
	dec := &g711.decU
	if c == PCMA {
		dec = &g711.decA
	}
	if len(dst) < len(src) {
		panic("media: Decode: dst shorter than src")
	}
	for i, b := range src {
		dst[i] = dec[b]
	}
}
