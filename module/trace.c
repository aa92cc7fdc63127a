// SPDX-License-Identifier: GPL-2.0
/* The trace events of trace.h: their one definition. */
#define CREATE_TRACE_POINTS
#include "trace.h"
