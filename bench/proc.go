package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// ProcStats is a process's memory and CPU as /proc reports them.
type ProcStats struct {
	RSS  int64         // resident set now, bytes
	Peak int64         // high-water mark of the resident set (VmHWM), bytes
	CPU  time.Duration // user + system time so far
}

// ReadProc reads /proc/<pid>/status and /proc/<pid>/stat.
func ReadProc(pid int) (ProcStats, error) {
	return readProcFrom(fmt.Sprintf("/proc/%d", pid))
}

func readProcFrom(dir string) (ProcStats, error) {
	var st ProcStats
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return st, fmt.Errorf("read process status: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch key {
		case "VmRSS":
			st.RSS, err = parseKB(val)
		case "VmHWM":
			st.Peak, err = parseKB(val)
		}
		if err != nil {
			return st, fmt.Errorf("process status %s: %w", key, err)
		}
	}
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return st, fmt.Errorf("read process stat: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// the fields after the last ')' start at field 3 (state).
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return st, fmt.Errorf("process stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return st, fmt.Errorf("process stat: %d fields after the name, want at least 13", len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return st, fmt.Errorf("process stat: utime %q stime %q are not numbers", f[11], f[12])
	}
	st.CPU = time.Duration(utime+stime) * time.Second / clockTicks
	return st, nil
}

func parseKB(v string) (int64, error) {
	v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
	n, err := strconv.ParseInt(v, 10, 64)
	return n << 10, err
}

// FileSize is the size of a file in bytes, 0 when it does not exist.
func FileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
