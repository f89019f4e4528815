package uploader

import (
	"net/http"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
)

// importJSON is how the API shows an import: the wire format of package
// client, which the Go client, the CLI and the Redis status share.
type importJSON = client.Import

// toJSON returns how the API shows imp to the caller of r: its actions are
// the steps the caller's token may take. What sweep publishes to Redis and
// sends to webhooks is for no one caller (client.FromImport).
func toJSON(r *http.Request, imp sweep.Import) importJSON {
	p := principal(r)
	return client.FromImportFor(imp, sweep.Viewer{TokenID: p.TokenID, Scopes: p.Scopes})
}
