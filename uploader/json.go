package uploader

import (
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
)

// importJSON is how the API shows an import: the wire format of package
// client, which the Go client, the CLI and the Redis status share.
type importJSON = client.Import

// toJSON returns how the API shows imp.
func toJSON(imp sweep.Import) importJSON { return client.FromImport(imp) }
