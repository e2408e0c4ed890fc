package media

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrWAV reports a WAV file Switchboard cannot play.
var ErrWAV = errors.New("unsupported wav")

// ParseWAV decodes a RIFF WAVE file holding 8 kHz mono audio as 16-bit PCM,
// µ-law or A-law, and returns its samples as 16-bit linear PCM.
func ParseWAV(data []byte) ([]int16, error) {
	h, body, err := readWAV(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWAV, err)
	}
	if h.channels != 1 || h.rate != SampleRate {
		return nil, fmt.Errorf("%w: need 8000 Hz mono, have %d Hz, %d channels", ErrWAV, h.rate, h.channels)
	}
	return decodeWAVData(h.format, h.bits, body)
}

// wavFormat is a WAV file's fmt chunk.
type wavFormat struct {
	format, channels, bits uint16
	rate                   uint32
	// sub is WAVE_FORMAT_EXTENSIBLE's subformat (its first two bytes), 0
	// for another format.
	sub uint16
}

// readWAV walks a RIFF WAVE file's chunks to its fmt and data chunks (a
// data chunk cut short is taken as far as it goes: a recording cut short).
func readWAV(data []byte) (wavFormat, []byte, error) {
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return wavFormat{}, nil, errors.New("not a RIFF WAVE file")
	}
	var (
		h       wavFormat
		haveFmt bool
	)
	p := data[12:]
	for len(p) >= 8 {
		id := string(p[0:4])
		size := binary.LittleEndian.Uint32(p[4:8])
		body := p[8:]
		if uint64(size) > uint64(len(body)) {
			if id != "data" {
				return wavFormat{}, nil, fmt.Errorf("chunk %q runs past the end", id)
			}
			size = uint32(len(body))
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return wavFormat{}, nil, errors.New("fmt chunk too short")
			}
			h = wavFormat{format: binary.LittleEndian.Uint16(body[0:2]), channels: binary.LittleEndian.Uint16(body[2:4]),
				rate: binary.LittleEndian.Uint32(body[4:8]), bits: binary.LittleEndian.Uint16(body[14:16])}
			if h.format == 0xFFFE && len(body) >= 26 {
				h.sub = binary.LittleEndian.Uint16(body[24:26])
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return wavFormat{}, nil, errors.New("data before fmt")
			}
			return h, body, nil
		}
		adv := 8 + int(size) + int(size&1)
		if adv > len(p) {
			break
		}
		p = p[adv:]
	}
	return wavFormat{}, nil, errors.New("no data chunk")
}

func decodeWAVData(format, bits uint16, body []byte) ([]int16, error) {
	switch {
	case format == 1 && bits == 16:
		out := make([]int16, len(body)/2)
		for i := range out {
			out[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
		}
		return out, nil
	case format == 7 && bits == 8:
		out := make([]int16, len(body))
		Decode(PCMU, out, body)
		return out, nil
	case format == 6 && bits == 8:
		out := make([]int16, len(body))
		Decode(PCMA, out, body)
		return out, nil
	}
	return nil, fmt.Errorf("%w: format %d with %d bits (need PCM 16-bit, µ-law or A-law)", ErrWAV, format, bits)
}

// WAVHeader returns a 44-byte header for 16-bit PCM with the given channels
// and data length in bytes.
func WAVHeader(channels int, dataLen uint32) []byte {
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+dataLen)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], SampleRate)
	binary.LittleEndian.PutUint32(h[28:], SampleRate*2*uint32(channels))
	binary.LittleEndian.PutUint16(h[32:], uint16(2*channels))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataLen)
	return h
}

// ParseChannels decodes an 8 kHz WAV file of one or more channels (a call
// recording: the caller left, the agent right) into one slice a channel.
func ParseChannels(data []byte) ([][]int16, error) {
	h, body, err := readWAV(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWAV, err)
	}
	if h.rate != SampleRate || h.channels == 0 || h.channels > 8 {
		return nil, fmt.Errorf("%w: need 8000 Hz, have %d Hz, %d channels", ErrWAV, h.rate, h.channels)
	}
	all, err := decodeWAVData(h.format, h.bits, body)
	if err != nil {
		return nil, err
	}
	n := int(h.channels)
	out := make([][]int16, n)
	for c := range out {
		out[c] = make([]int16, 0, len(all)/n)
	}
	for i := 0; i+n <= len(all); i += n {
		for c := range n {
			out[c] = append(out[c], all[i+c])
		}
	}
	return out, nil
}
