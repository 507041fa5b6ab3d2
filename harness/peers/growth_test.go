package peers

import (
	"encoding/csv"
	"os"
	"strconv"
	"testing"
	"time"
)

// readSamples reads seconds,rss_bytes rows, as the instrument writes them.
func readSamples(t *testing.T, path string) []Sample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []Sample
	for _, r := range rows[1:] {
		s, err1 := strconv.ParseFloat(r[0], 64)
		b, err2 := strconv.ParseInt(r[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad row %v", r)
		}
		out = append(out, Sample{At: time.Duration(s * float64(time.Second)), RSSBytes: b})
	}
	return out
}

// soak-rss.csv: a start-up climb to ~60 MiB in the first minute, then
// 60 MiB rising to a 64 MiB peak and back to 62 MiB.
func TestGrowthAfter(t *testing.T) {
	g, ok := GrowthAfter(readSamples(t, "testdata/soak-rss.csv"), time.Minute)
	if !ok {
		t.Fatal("not measured")
	}
	const mib = 1 << 20
	want := Growth{BaseBytes: 60 * mib, LastBytes: 62 * mib, MaxBytes: 64 * mib, Bytes: 2 * mib, MaxGrowth: 4 * mib, Samples: 5}
	if g != want {
		t.Errorf("GrowthAfter = %+v, want %+v", g, want)
	}
}

func TestGrowthTooShort(t *testing.T) {
	s := []Sample{{At: 0, RSSBytes: 1}, {At: 50 * time.Second, RSSBytes: 2}, {At: 60 * time.Second, RSSBytes: 3}}
	if g, ok := GrowthAfter(s, time.Minute); ok || g.Samples != 1 {
		t.Errorf("GrowthAfter = %+v, %v: want not measured, 1 sample", g, ok)
	}
}
