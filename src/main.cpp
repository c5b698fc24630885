// Thin entry point: everything lives in the library so the tests exercise the same code.
#include "esxmirror/cli/app.hpp"

int main(int argc, char** argv) { return esxmirror::cli::run(argc, argv); }
