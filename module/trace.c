// SPDX-License-Identifier: GPL-2.0
/*
 * The trace events of trace.h: their one definition.  The headers trace.h
 * reads come first, without CREATE_TRACE_POINTS: a kernel header they
 * include may define trace events of its own (<linux/smp.h> reads
 * <trace/events/ipi.h> from 6.6 on), which must not be created here.
 */
#include "vcpu.h"
#include "vmx_ops.h"

#define CREATE_TRACE_POINTS
#include "trace.h"
