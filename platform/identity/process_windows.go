package identity

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
