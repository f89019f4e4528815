package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/sweephq/sweep/wire"
)

// DeleteCustomerKey is DeleteCustomer for a platform whose customer key (the
// erasure plan's subject.key) is a uuid or text: the key as the platform
// writes it.
func (c *Client) DeleteCustomerKey(ctx context.Context, key string) error {
	return c.do(ctx, http.MethodDelete, "/v1/customers/"+url.PathEscape(key), nil, "", nil)
}

// Queues returns the task queues' figures (an admin token).
func (c *Client) Queues(ctx context.Context) (wire.Queues, error) {
	var out wire.Queues
	err := c.do(ctx, http.MethodGet, "/v1/queues", nil, "", &out)
	return out, err
}

// Instructions returns the file format's rules in plain words (no token
// needed).
func (c *Client) Instructions(ctx context.Context) (wire.Instructions, error) {
	var out wire.Instructions
	err := c.do(ctx, http.MethodGet, "/v1/instructions", nil, "", &out)
	return out, err
}

// SampleFile writes the sample import file, in the spelling of the
// platform's customer keys, to w (no token needed).
func (c *Client) SampleFile(ctx context.Context, w io.Writer) error {
	return c.download(ctx, "/v1/sample.csv", w)
}
