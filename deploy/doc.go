// Package deploy holds how Portcullis is deployed: the CustomResourceDefinitions generated from
// api/v1alpha1 (deploy/crds, copied into the chart's crds/), the Helm chart
// (deploy/helm/portcullis) and example resources (deploy/examples); the Dockerfile lives at the
// repository root. The package has no code of its own. Its tests render the chart with
// the pinned helm and decode every manifest into its Kubernetes API type with unknown fields
// rejected (both config sources, and the RBAC of the Kubernetes one), check the CRDs are
// current, structural and the chart's, run `portcullis validate` on the
// chart's config, and hold the Dockerfile to its build contract.
package deploy
