package uploader

import (
	"net/http"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// toJSON returns how the API shows imp to the caller of r: its actions are
// the steps the caller's token may take. What sweep publishes to Redis and
// sends to webhooks is for no one caller (wire.FromImport).
func toJSON(r *http.Request, imp sweep.Import) wire.Import {
	p := principal(r)
	return wire.FromImportFor(imp, sweep.Viewer{TokenID: p.TokenID, Scopes: p.Scopes})
}
