// Package v1alpha1 holds the configuration types of Portcullis: the Authorizer and Api kinds of
// the portcullis.dev/v1alpha1 API group. They are the single source of the config schema; the
// CRD manifests under deploy/crds are generated from them.
//
// +kubebuilder:object:generate=true
// +groupName=portcullis.dev
package v1alpha1

// Group and Version name the API these kinds belong to.
const (
	Group      = "portcullis.dev"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
)

// Kind names of the configuration documents.
const (
	KindAuthorizer = "Authorizer"
	KindApi        = "Api"
)
