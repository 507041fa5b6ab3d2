package hoststat

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		file    string
		want    CPUTimes
		wantErr string
	}{
		// Copied from this 2-core VM (2026-12-05).
		{file: "stat_real", want: CPUTimes{463300, 41182, 217768, 306931, 4559, 0, 18874, 404}},
		{file: "nopsi/stat", want: CPUTimes{463300, 41182, 217768, 306931, 4559, 0, 18874, 404}},
		{file: "stat_no_steal", wantErr: "want 8 counters up to steal"},
		{file: "pressure_cpu_real", wantErr: "no aggregate cpu line"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseStat(open(t, tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseStat = %v; want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseStat = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParsePressure(t *testing.T) {
	tests := []struct {
		file    string
		want    Pressure
		wantErr string
	}{
		{file: "pressure_cpu_real", want: Pressure{SomeAvg10: 1.55, SomeTotalUs: 2998500495, HasFull: true}},
		// Kernels before 5.13 print no full line for cpu.
		{file: "pressure_cpu_old_kernel", want: Pressure{SomeTotalUs: 12345}},
		{file: "stat_no_steal", wantErr: "want key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParsePressure(open(t, tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePressure = %v; want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParsePressure = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestShares(t *testing.T) {
	a := CPUTimes{User: 100, Idle: 100}
	tests := []struct {
		name   string
		prev   CPUTimes
		cur    CPUTimes
		want   float64
		wantOK bool
	}{
		{"a quarter stolen", a, CPUTimes{User: 150, Idle: 125, Steal: 25}, 25, true},
		{"none stolen", a, CPUTimes{User: 200, Idle: 100}, 0, true},
		{"no time passed", a, a, 0, false},
		{"another boot", a, CPUTimes{User: 1}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := StealPct(tt.prev, tt.cur); got != tt.want || ok != tt.wantOK {
				t.Fatalf("StealPct = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if got, ok := StallPct(Pressure{SomeTotalUs: 10}, Pressure{SomeTotalUs: 250_010}, 1e6); got != 25 || !ok {
		t.Errorf("StallPct = %v, %v; want 25, true", got, ok)
	}
	if _, ok := StallPct(Pressure{SomeTotalUs: 10}, Pressure{SomeTotalUs: 5}, 1e6); ok {
		t.Error("StallPct of a counter gone backwards is known")
	}
}

// copyTree writes the fixture files into a fresh proc root.
func copyTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for dst, src := range files {
		b, err := os.ReadFile(filepath.Join("testdata", src))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSampler(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		first, second map[string]string
		want          Sample
	}{
		{"both files",
			map[string]string{"stat": "stat_real", "pressure/cpu": "pressure_cpu_real"},
			map[string]string{"stat": "later/stat", "pressure/cpu": "later/pressure/cpu"},
			Sample{StealPct: 15, PressurePct: 40, PressureAvg: 1.55}},
		// A kernel without PSI: pressure unknown, not zero.
		{"no psi",
			map[string]string{"stat": "nopsi/stat"},
			map[string]string{"stat": "later/stat"},
			Sample{StealPct: 15, PressurePct: math.NaN(), PressureAvg: math.NaN()}},
		{"no stat",
			map[string]string{"pressure/cpu": "pressure_cpu_real"},
			map[string]string{"pressure/cpu": "later/pressure/cpu"},
			Sample{StealPct: math.NaN(), PressurePct: 40, PressureAvg: 1.55}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			copyTree(t, root, tt.first)
			s := NewSampler(root, t0)
			copyTree(t, root, tt.second)
			got := s.Next(t0.Add(time.Second))
			if !same(got.StealPct, tt.want.StealPct) || !same(got.PressurePct, tt.want.PressurePct) || !same(got.PressureAvg, tt.want.PressureAvg) {
				t.Fatalf("Next = %+v; want %+v", got, tt.want)
			}
			if got.Suspect() != (tt.want.StealPct > SuspectStealPct) {
				t.Errorf("Suspect = %v at steal %v", got.Suspect(), got.StealPct)
			}
		})
	}
}

func same(a, b float64) bool {
	return (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) < 1e-9
}

func TestUnknownIsNotSuspect(t *testing.T) {
	if Unknown().Suspect() {
		t.Fatal("an unknown steal reads as suspect")
	}
}
