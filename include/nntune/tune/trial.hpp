#pragma once
// The stored record types (FrozenTrial, StudyHistory, TrialState, Direction) now live in
// nntune/tune/records.hpp; this header stays for code that includes it.
#include "nntune/tune/records.hpp"
