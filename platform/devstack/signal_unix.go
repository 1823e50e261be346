//go:build unix

package devstack

import "syscall"

// sigstop and sigcont freeze and continue a private server (fault drills).
var sigstop, sigcont = syscall.SIGSTOP, syscall.SIGCONT
