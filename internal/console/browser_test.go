package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds a Chromium to drive; "" when none is installed.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// The acceptance test of the console: a headless Chromium opens it, finds the topic and the
// group through the page's own links, reads a partition's records, and sees the group's lag
// chart. The screenshot goes to
// the test's artifact directory (kept with go test -artifacts).
func TestBrowserFindsTopicGroupAndLagChart(t *testing.T) {
	exe := chromiumPath()
	if exe == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is required in CI (Debian package chromium)")
		}
		t.Skip("chromium not installed")
	}
	f := startFixture(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	err := chromedp.Do(ctx,
		chromedp.Navigate(f.n.AdminURL()+"/"),
		chromedp.WaitVisible(`//h1[text()="Cluster overview"]`),
		// Topics, through the navigation, then the topic's page.
		chromedp.Click(chromedp.CSS(`nav a[href="#/topics"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main a[href="#/topics/orders"]`)),
		chromedp.Click(chromedp.CSS(`main a[href="#/topics/orders"]`)),
		chromedp.WaitVisible(`//td/span[text()="retention.ms"]`),
		// The record browser of partition 0, from the topic's page: the last 20 records.
		chromedp.Click(chromedp.CSS(`main a[href="#/browse/orders/0"]`)),
		chromedp.WaitVisible(`//td[text()="29"]`),
		chromedp.WaitVisible(`//td/span[text()="order `+strings.Repeat("x", 29)+`"]`),
		// The group, through the navigation, then its page with the lag chart.
		chromedp.Click(chromedp.CSS(`nav a[href="#/groups"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main a[href="#/groups/billing"]`)),
		chromedp.Click(chromedp.CSS(`main a[href="#/groups/billing"]`)),
		chromedp.WaitVisible(chromedp.CSS(`figure svg.chart`)),
		chromedp.WaitReady(chromedp.CSS(`figure svg.chart circle`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	chartTitle, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`figure svg.chart title`)))
	if err != nil {
		t.Fatal(err)
	}
	lagCell, err := chromedp.Run(ctx, chromedp.Text(`//caption[text()="Lag by partition"]/following-sibling::tbody/tr[1]/td[6]`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(title, "billing") || !strings.Contains(chartTitle, "Total lag of billing") ||
		!strings.Contains(chartTitle, "now 20") || lagCell != "20" {
		t.Fatalf("page title %q, chart %q, lag of partition 0 %q", title, chartTitle, lagCell)
	}
	out := filepath.Join(t.ArtifactDir(), "console-group.png")
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", out, len(shot))
}
