package record

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// inflate undoes the outer layers of a V2 compressed encoding: base64, the
// cookie and length, zlib. What remains is what the library compressed.
func inflate(t *testing.T, enc []byte) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(string(enc))
	if err != nil {
		t.Fatal(err)
	}
	if got := int32(binary.BigEndian.Uint32(raw)); got != v2CompressedCookie {
		t.Fatalf("cookie %#x, want %#x", got, v2CompressedCookie)
	}
	if n := int(binary.BigEndian.Uint32(raw[4:])); n != len(raw)-8 {
		t.Fatalf("compressed length %d, have %d bytes", n, len(raw)-8)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw[8:]))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncoderMatchesTheLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string]func(h *hdrhistogram.Histogram){
		"empty":        func(*hdrhistogram.Histogram) {},
		"one value":    func(h *hdrhistogram.Histogram) { _ = h.RecordValue(1500) },
		"lowest":       func(h *hdrhistogram.Histogram) { _ = h.RecordValue(LowestValue) },
		"highest":      func(h *hdrhistogram.Histogram) { _ = h.RecordValues(HighestValue, 3) },
		"large counts": func(h *hdrhistogram.Histogram) { _ = h.RecordValues(20_000, 1<<40) },
		"sparse": func(h *hdrhistogram.Histogram) {
			for _, v := range []int64{1, 3, 900, 250_000, 40_000_000} {
				_ = h.RecordValue(v)
			}
		},
		"latencies": func(h *hdrhistogram.Histogram) {
			for range 50_000 {
				_ = h.RecordValue(int64(rng.ExpFloat64()*8000) + 200)
			}
		},
	}
	var e encoder // one encoder for every case: its buffers are reused
	for name, fill := range cases {
		t.Run(name, func(t *testing.T) {
			h := NewHistogram()
			fill(h)
			want, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.encode(h)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(inflate(t, got), inflate(t, want)) {
				t.Fatal("the uncompressed payload differs from the library's")
			}
			back, err := hdrhistogram.Decode(got)
			if err != nil {
				t.Fatalf("the library cannot decode it: %v", err)
			}
			if !back.Equals(h) {
				t.Fatal("decoded histogram differs")
			}
		})
	}
}

func TestPutZigZag(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		want []byte
	}{
		{0, []byte{0}}, {-1, []byte{1}}, {1, []byte{2}}, {63, []byte{126}}, {64, []byte{0x80, 1}},
		{-2, []byte{3}}, {1 << 62, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}},
		{-1 << 63, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	} {
		var b [9]byte
		if got := b[:putZigZag(b[:], tc.v)]; !bytes.Equal(got, tc.want) {
			t.Errorf("putZigZag(%d) = %x, want %x", tc.v, got, tc.want)
		}
	}
}

func BenchmarkLogWriterWrite(b *testing.B) {
	h := NewHistogram()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		_ = h.RecordValue(int64(rng.ExpFloat64()*8000) + 200)
	}
	h.SetStartTimeMs(1000)
	h.SetEndTimeMs(2000)
	l := &LogWriter{w: io.Discard}
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Write(h, "steady"); err != nil {
			b.Fatal(err)
		}
	}
}
