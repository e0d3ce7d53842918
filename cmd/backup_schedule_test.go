package cmd

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/internal/server"
	"github.com/chatbot/chatbot/store"
)

// serve --backup-every takes backups by itself; the admin overview and
// /metrics show the last one.
func TestServeTakesScheduledBackups(t *testing.T) {
	backupDir := t.TempDir()
	cfg := config{AdminToken: backupAdmin, Embedder: "builtin", BackupEvery: 50 * time.Millisecond, BackupDir: backupDir, BackupKeep: 3}
	a, _ := startOwnApp(t, cfg)
	base := "http://" + a.Addr()
	var backup server.BackupStatus
	deadline := time.Now().Add(30 * time.Second)
	for backup.LastGood.IsZero() {
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled backup in 30s: %+v", backup)
		}
		status, body := apiCall(t, "GET", base+"/admin/api/overview", backupAdmin, "")
		var ov struct {
			Backup server.BackupStatus `json:"backup"`
		}
		if status != 200 || json.Unmarshal(body, &ov) != nil {
			t.Fatalf("overview: %d %s", status, body)
		}
		backup = ov.Backup
		time.Sleep(20 * time.Millisecond) // polling the server's view, not synchronising goroutines
	}
	if !backup.Enabled || backup.Every != "50ms" || backup.Dir != backupDir || !strings.HasPrefix(backup.File, backupDir) {
		t.Fatalf("overview backup = %+v", backup)
	}
	if _, err := store.VerifySnapshotFile(backup.File, t.TempDir(), nil); err != nil && !os.IsNotExist(err) {
		t.Fatalf("the scheduled backup does not check: %v", err)
	}
	_, body := apiCall(t, "GET", base+"/metrics", backupAdmin, "")
	if !bytes.Contains(body, []byte("chatbot_backup_enabled 1\n")) || !bytes.Contains(body, []byte("chatbot_backup_last_success_timestamp_seconds ")) {
		t.Fatalf("metrics lack the backup:\n%s", body)
	}
}
