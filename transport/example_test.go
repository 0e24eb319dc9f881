package transport_test

import (
	"context"
	"errors"
	"fmt"

	"dproc/transport"
	"dproc/transport/memtransport"
)

func ExampleQuote() {
	fmt.Println(transport.QuoteArgs([]string{"grep", "-e", "it's $5", "my file.txt"}))
	// Output: grep -e 'it'\''s $5' 'my file.txt'
}

func ExampleExitError() {
	t := memtransport.New(nil)
	defer t.Close()
	t.AddHost("node1")
	err := t.Run(context.Background(), "node1", &transport.Command{Args: []string{"false"}})

	var ee *transport.ExitError
	if errors.As(err, &ee) {
		fmt.Println("host:", ee.Host, "status:", ee.Code)
	}
	fmt.Println("failed:", errors.Is(err, transport.ErrFailed), "lost:", transport.IsLost(err))
	// Output:
	// host: node1 status: 1
	// failed: true lost: false
}
