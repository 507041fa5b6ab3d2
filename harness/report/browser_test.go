package report

import (
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// installCommand is how the test gets a browser when the machine has
// none; `make chromium` runs the same.
const installCommand = "apt-get update && apt-get install -y chromium"

// ensureChromium returns the path of Debian's chromium, installing it if
// missing. A machine where that fails skips the browser test, loudly: the
// report is meant to be looked at, and a silent skip would hide that no
// browser ever opened it.
func ensureChromium(t *testing.T) string {
	t.Helper()
	if p, err := findChromium(); err == nil {
		return p
	}
	if os.Geteuid() != 0 {
		t.Skipf("SKIPPING THE BROWSER TEST: chromium is not installed and installing it needs root; run `%s` as root (or `make chromium`)", installCommand)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// Another apt run (make chromium, a parallel test package) may hold
	// the lock: wait for it rather than fail.
	for _, args := range [][]string{
		{"-o", "DPkg::Lock::Timeout=600", "update"},
		{"-o", "DPkg::Lock::Timeout=600", "install", "-y", "chromium"},
	} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("SKIPPING THE BROWSER TEST: chromium is not installed and `%s` failed: apt-get %s: %v\n%s",
				installCommand, strings.Join(args, " "), err, tail(out, 2000))
		}
	}
	p, err := findChromium()
	if err != nil {
		t.Skipf("SKIPPING THE BROWSER TEST: `%s` succeeded but no chromium binary was found: %v", installCommand, err)
	}
	return p
}

func findChromium() (string, error) {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	return exec.LookPath("chromium")
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// chromium runs the headless browser on page with the network cut off:
// no proxy reachable, no name resolves, so anything the page tried to
// fetch would fail (and show).
func chromium(t *testing.T, bin, page string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--window-size=1280,4000", "--hide-scrollbars",
		"--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
	}
	args = append(args, extra...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, bin, args...)
	// Chromium starts helper processes; on a timeout end them all, not
	// only the one we started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("chromium did not finish within 60 s; stderr:\n%s", tail([]byte(stderr.String()), 3000))
	}
	if err != nil {
		t.Fatalf("chromium %s: %v; stderr:\n%s", strings.Join(extra, " "), err, tail([]byte(stderr.String()), 3000))
	}
	return []byte(stdout.String())
}

// TestReportInBrowser opens a report in headless Chromium, offline, and
// checks that its charts were drawn: pixels of each twin's colour in the
// screenshot, and every chart's <svg> with its lines in the DOM.
func TestReportInBrowser(t *testing.T) {
	bin := ensureChromium(t)
	dir := fixture(t)
	copyFile(t, "testdata/verdict.json", filepath.Join(filepath.Dir(dir), "verdict.json"))
	res, err := Write(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	chromium(t, bin, res.Path, "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if keep := os.Getenv("EDABENCH_REPORT_SCREENSHOT"); keep != "" {
		copyFile(t, shot, keep)
		t.Logf("screenshot kept at %s", keep)
	}
	b := img.Bounds()
	if b.Dx() != 1280 || b.Dy() != 4000 {
		t.Fatalf("screenshot is %v; want 1280x4000", b.Size())
	}
	counts := map[string]int{}
	nonWhite := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl := rgb(img, x, y)
			if r < 240 || g < 240 || bl < 240 {
				nonWhite++
			}
			for _, twin := range []string{"rr", "eda"} {
				if near8(r, g, bl, twinColors[twin]) {
					counts[twin]++
				}
			}
		}
	}
	ratio := float64(nonWhite) / float64(b.Dx()*b.Dy())
	t.Logf("pixels of rr's colour %d, of eda's %d; not white %.1f%%", counts["rr"], counts["eda"], 100*ratio)
	// Eight charts, each with one to four lines per twin some hundreds of
	// pixels long: thousands of pixels. The legends and dots alone are a
	// few hundred.
	for _, twin := range []string{"rr", "eda"} {
		if counts[twin] < 3000 {
			t.Errorf("%d pixels of %s's colour %s: want > 3000, its lines were not drawn", counts[twin], twin, twinColors[twin])
		}
	}
	if ratio < 0.03 || ratio > 0.6 {
		t.Errorf("%.1f%% of the page is not white: want 3%%..60%% (a blank page, or one flooded)", 100*ratio)
	}

	dom := string(chromium(t, bin, res.Path, "--dump-dom"))
	charts := svgChart.FindAllString(dom, -1)
	if len(charts) != 8 {
		t.Fatalf("the DOM has %d chart <svg>s; want 8", len(charts))
	}
	for i, c := range charts {
		if !strings.Contains(c, "<polyline") || strings.Contains(c, `class="nodata"`) {
			t.Errorf("chart %d has no line: %.300s", i, c)
		}
	}
	if !strings.Contains(dom, "does not hold") || !strings.Contains(dom, "kill:inventory") {
		t.Error("the DOM lacks the verdict or the fault windows")
	}
}

func rgb(img image.Image, x, y int) (r, g, b int) {
	r32, g32, b32, _ := img.At(x, y).RGBA()
	return int(r32 >> 8), int(g32 >> 8), int(b32 >> 8)
}

// near8 says whether r, g, b is within a little of the colour #rrggbb:
// antialiasing blends a line's edges, not its core.
func near8(r, g, b int, hex string) bool {
	var c [3]int
	for i := range c {
		var v int
		for _, ch := range hex[1+2*i : 3+2*i] {
			v *= 16
			switch {
			case ch >= '0' && ch <= '9':
				v += int(ch - '0')
			default:
				v += int(ch-'a') + 10
			}
		}
		c[i] = v
	}
	d := func(a, b int) int {
		if a > b {
			return a - b
		}
		return b - a
	}
	return d(r, c[0]) <= 24 && d(g, c[1]) <= 24 && d(b, c[2]) <= 24
}
