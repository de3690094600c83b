package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxFileSize bounds one configuration file. Real configurations are a few KiB (a Kubernetes
// ConfigMap holds at most 1 MiB); the bound keeps a wrong path from filling memory.
const maxFileSize = 4 << 20

// file is the content of one configuration file and the name errors show for it.
type file struct {
	name string
	data []byte
}

// readPaths reads every file named by paths: files as given, directories as their *.yaml and
// *.yml files in name order.
func readPaths(paths []string) ([]file, ErrorList) {
	var files []file
	var errs ErrorList
	for _, path := range paths {
		info, err := os.Stat(path)
		if err != nil {
			errs = append(errs, &Error{File: path, Reason: osReason(err)})
			continue
		}
		if !info.IsDir() {
			f, err := readFile(path)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			files = append(files, f)
			continue
		}
		dirFiles, dirErrs := readDir(path)
		files = append(files, dirFiles...)
		errs = append(errs, dirErrs...)
	}
	return files, errs
}

// readDir reads the configuration files of one directory, not its sub-directories. Names
// starting with "." are skipped: a Kubernetes ConfigMap volume keeps its real files in "..data"
// and friends and shows them through symbolic links, which are followed.
func readDir(dir string) ([]file, ErrorList) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, ErrorList{{File: dir, Reason: osReason(err)}}
	}
	var files []file
	var errs ErrorList
	for _, entry := range entries {
		name := entry.Name()
		ext := filepath.Ext(name)
		if strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		path := filepath.Join(dir, name)
		info, err := os.Stat(path)
		switch {
		case err != nil:
			errs = append(errs, &Error{File: path, Reason: osReason(err)})
			continue
		case info.IsDir():
			continue
		}
		f, ferr := readFile(path)
		if ferr != nil {
			errs = append(errs, ferr)
			continue
		}
		files = append(files, f)
	}
	if len(files) == 0 && len(errs) == 0 {
		errs = append(errs, &Error{File: dir, Reason: "no *.yaml or *.yml files in this directory"})
	}
	return files, errs
}

func readFile(path string) (file, *Error) {
	f, err := os.Open(path)
	if err != nil {
		return file{}, &Error{File: path, Reason: osReason(err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return file{}, &Error{File: path, Reason: "read: " + osReason(err)}
	}
	if len(data) > maxFileSize {
		return file{}, &Error{File: path, Reason: fmt.Sprintf("larger than %d bytes", maxFileSize)}
	}
	return file{name: path, data: data}, nil
}

// osReason drops the operation and path an *fs.PathError repeats: the Error already names the file.
func osReason(err error) string {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err.Error()
	}
	return err.Error()
}
