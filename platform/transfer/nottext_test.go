package transfer

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// Random bytes are binary whatever their luck; text with a few stray control
// bytes (a form feed, an escape in a pasted cell) is still text.
func TestNotTextJudgesRandomBytesBinaryEveryTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{512, 4096, 64 << 10} {
		head := make([]byte, size)
		for i := 0; i < 2000; i++ {
			for j := range head {
				head[j] = byte(rng.UintN(256))
			}
			if notText(head) == "" {
				t.Fatalf("random sample %d of %d bytes read as text", i, size)
			}
		}
	}
	text := []byte(strings.Repeat("name,email,note\r\n张三,zhang@example.com,\"line\x0cbreak \x1b[1m\"\r\n", 100))
	if got := notText(text); got != "" {
		t.Fatalf("text with stray control bytes: %q", got)
	}
}
