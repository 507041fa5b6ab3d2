package kafkanode

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoJava is wrapped when no java command is found.
var ErrNoJava = errors.New("no Java runtime (java) found")

// ErrNotFetched is wrapped when the Kafka jars are not in LibsDir.
var ErrNotFetched = errors.New("the Kafka jars are not fetched")

// fetchedMarker is written by `make kafka` after the copy finished, so a
// folder half-filled by an interrupted fetch is not taken for a whole one.
const fetchedMarker = ".fetched"

// serverJar is the broker's own jar, which holds kafka.Kafka and
// kafka.tools.StorageTool; its name carries the version.
const serverJarGlob = "kafka_2.13-*.jar"

// Java returns the java command: $JAVA_HOME/bin/java when JAVA_HOME is
// set, else java on PATH.
func Java() (string, error) {
	if home := os.Getenv(EnvJava); home != "" {
		p := filepath.Join(home, "bin", "java")
		if fileExists(p) {
			return p, nil
		}
		return "", fmt.Errorf("%w: %s=%s has no bin/java; unset it or point it at a JDK or JRE 17+", ErrNoJava, EnvJava, home)
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("%w on PATH: run `make kafka` (or `make deps`), which installs Debian's openjdk-17-jre-headless, "+
			"or apt-get install -y openjdk-17-jre-headless", ErrNoJava)
	}
	return p, nil
}

// Fetched says whether `make kafka` has filled LibsDir.
func (c Config) Fetched() error {
	if !fileExists(filepath.Join(c.LibsDir, fetchedMarker)) {
		return fmt.Errorf("%w into %s: run `make kafka` (make deps and make test run it), "+
			"or set %s to a folder holding Kafka's libs", ErrNotFetched, c.LibsDir, EnvLibs)
	}
	if _, err := serverJar(c.LibsDir); err != nil {
		return fmt.Errorf("%w: %v; run `make kafka`", ErrNotFetched, err)
	}
	return nil
}

// Installed reports the first missing piece (Java, the jars) with its fix,
// nil when the node can start: tests check it and name the make target.
func (c Config) Installed() error {
	if _, err := Java(); err != nil {
		return err
	}
	return c.Fetched()
}

func serverJar(libs string) (string, error) {
	m, _ := filepath.Glob(filepath.Join(libs, serverJarGlob))
	if len(m) != 1 {
		return "", fmt.Errorf("want one %s in %s, found %d", serverJarGlob, libs, len(m))
	}
	return m[0], nil
}

// jarVersion is the version in the broker jar's name: kafka_2.13-4.4.0.jar
// gives 4.4.0.
func jarVersion(jar string) string {
	base := strings.TrimSuffix(filepath.Base(jar), ".jar")
	_, v, ok := strings.Cut(base, "-")
	if !ok {
		return ""
	}
	return v
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
