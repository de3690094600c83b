package importer

import (
	"encoding/json"
	"net/url"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

// loadSwagger2 reads a Swagger 2.0 definition and converts it to OpenAPI 3, resolving its $refs.
// The conversion keeps API Gateway's extensions on the document, paths, operations and security
// definitions (which become components.securitySchemes); host and basePath are read from the
// Swagger document itself (see oasReader.servers).
func loadSwagger2(data []byte, loader *openapi3.Loader, location *url.URL) (*openapi3.T, error) {
	var doc2 openapi2.T
	if err := json.Unmarshal(data, &doc2); err != nil {
		return nil, err
	}
	return openapi2conv.ToV3WithLoader(&doc2, loader, location)
}
