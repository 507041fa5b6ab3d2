package record

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The V2 cookies with the word size (8) in bits 4-7, as the library writes them.
const (
	v2Cookie           = hdrhistogram.V2EncodingCookieBase | 0x10
	v2CompressedCookie = hdrhistogram.V2CompressedEncodingCookieBase | 0x10
	v2HeaderLen        = 40
)

// encoder writes HdrHistogram's V2 compressed encoding (base64), byte for
// byte the payload the library's Encode compresses, but reusing its buffers
// and its zlib writer. The library builds a fresh BestCompression deflater
// per call (about 1 MB) and a slice per bucket; a run's interval logs encode
// four histograms a second, which made those allocations most of a soak's
// garbage. Not safe for concurrent use.
type encoder struct {
	raw, packed bytes.Buffer
	zw          *zlib.Writer
	out         []byte
}

// encode returns h's encoding; the slice is valid until the next call.
func (e *encoder) encode(h *hdrhistogram.Histogram) ([]byte, error) {
	snap := h.Export()
	// The library encodes up to the bucket of the largest value (one zero
	// bucket when empty): everything above it is zero.
	limit := 1
	for i := len(snap.Counts) - 1; i >= 0; i-- {
		if snap.Counts[i] != 0 {
			limit = i + 1
			break
		}
	}
	ratio := snap.IntegerToDoubleConversionRatio
	if ratio == 0 {
		ratio = 1
	}
	e.raw.Reset()
	var hdr [v2HeaderLen]byte
	e.raw.Write(hdr[:]) // the header, filled in once the payload's length is known
	var zz [binary.MaxVarintLen64]byte
	for i := 0; i < limit; {
		v := snap.Counts[i]
		i++
		if v == 0 {
			// A run of zeros is one negative count, a single zero itself.
			run := int64(1)
			for i < limit && snap.Counts[i] == 0 {
				run++
				i++
			}
			if run > 1 {
				v = -run
			}
		}
		e.raw.Write(zz[:putZigZag(zz[:], v)])
	}
	b := e.raw.Bytes()
	binary.BigEndian.PutUint32(b[0:], uint32(v2Cookie))
	binary.BigEndian.PutUint32(b[4:], uint32(len(b)-v2HeaderLen))
	binary.BigEndian.PutUint32(b[8:], 0) // normalizing index offset: the library stores counts unrotated
	binary.BigEndian.PutUint32(b[12:], uint32(snap.SignificantFigures))
	binary.BigEndian.PutUint64(b[16:], uint64(snap.LowestTrackableValue))
	binary.BigEndian.PutUint64(b[24:], uint64(snap.HighestTrackableValue))
	binary.BigEndian.PutUint64(b[32:], math.Float64bits(ratio))

	e.packed.Reset()
	e.packed.Write(make([]byte, 8)) // cookie and compressed length
	if e.zw == nil {
		e.zw = zlib.NewWriter(&e.packed)
	} else {
		e.zw.Reset(&e.packed)
	}
	if _, err := e.zw.Write(b); err != nil {
		return nil, fmt.Errorf("record: compressing a histogram: %w", err)
	}
	if err := e.zw.Close(); err != nil {
		return nil, fmt.Errorf("record: compressing a histogram: %w", err)
	}
	p := e.packed.Bytes()
	binary.BigEndian.PutUint32(p[0:], uint32(v2CompressedCookie))
	binary.BigEndian.PutUint32(p[4:], uint32(len(p)-8))
	e.out = base64.StdEncoding.AppendEncode(e.out[:0], p)
	return e.out, nil
}

// putZigZag writes v as HdrHistogram's ZigZag LEB128-64b9B: seven bits a
// byte for eight bytes, then the ninth carries the last eight whole. It
// returns the length (at most 9).
func putZigZag(b []byte, v int64) int {
	u := uint64((v << 1) ^ (v >> 63))
	for i := range 8 {
		if u>>7 == 0 {
			b[i] = byte(u)
			return i + 1
		}
		b[i] = byte(u&0x7f) | 0x80
		u >>= 7
	}
	b[8] = byte(u)
	return 9
}
