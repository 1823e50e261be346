package devstack

import "syscall"

var sigterm = syscall.SIGTERM
