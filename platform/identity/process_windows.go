package identity

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }

// Windows cannot freeze a process with a signal; Pause reports it.
var signalPause, signalResume syscall.Signal = 0, 0
