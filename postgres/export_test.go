package postgres

// For the external tests of the pipeline (pipeline_test.go), which share
// storetest's helpers.
type Pipeline = pipeline

var (
	NewPipeline       = newPipeline
	ErrPipelineClosed = errPipelineClosed
)
