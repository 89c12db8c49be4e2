#include <iostream>
int main() { std::cerr << "nntune: command line not written yet\n"; return 2; }
