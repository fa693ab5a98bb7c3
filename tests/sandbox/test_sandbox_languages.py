"""Every language of the table compiles once, runs its tests and gets the right verdicts."""

from __future__ import annotations

import pytest

from sandbox import StdioTest, Verdict
from sandbox.languages import LANGUAGES

# Each program prints a + b for one line "a b" on stdin.
SUM_PROGRAMS = {
    "python": "a, b = map(int, input().split())\nprint(a + b)\n",
    "c": '#include <stdio.h>\nint main(void){long a,b;scanf("%ld %ld",&a,&b);'
    'printf("%ld\\n",a+b);return 0;}\n',
    "cpp": "#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a+b<<'\\n';}\n",
    "java": "import java.util.*;\npublic class Main{public static void main(String[] x){"
    "Scanner s=new Scanner(System.in);long a=s.nextLong(),b=s.nextLong();"
    "System.out.println(a+b);}}\n",
    "javascript": "const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/)"
    ".map(Number);\nconsole.log(a + b);\n",
    "bash": "read a b\necho $((a + b))\n",
    "go": 'package main\nimport "fmt"\nfunc main(){var a,b int64\nfmt.Scan(&a,&b)\n'
    "fmt.Println(a+b)}\n",
    "rust": "use std::io::*;\nfn main(){let mut s=String::new();stdin().read_to_string(&mut s)"
    ".unwrap();let v:Vec<i64>=s.split_whitespace().map(|x|x.parse().unwrap()).collect();"
    'println!("{}",v[0]+v[1]);}\n',
}

BROKEN_PROGRAMS = {
    "python": "def f(:\n",
    "c": "int main(void){ return x; }\n",
    "cpp": "int main(){ undefined_thing(); }\n",
    "java": "public class Main { public static void main(String[] a) { int x = ; } }\n",
    "javascript": "function (\n",
    "bash": "if then fi fi\n",
    "go": "package main\nfunc main(){ x := }\n",
    "rust": 'fn main() { let x: i32 = "no"; }\n',
}

TESTS = [
    StdioTest(stdin="1 2\n", expected_stdout="3\n"),
    StdioTest(stdin="40 2\n", expected_stdout="42\n"),
    StdioTest(stdin="5 5\n", expected_stdout="11\n"),  # wrong on purpose: a real WA
]


def test_languages_table_covers_the_required_languages() -> None:
    assert set(SUM_PROGRAMS) == set(LANGUAGES)


@pytest.mark.parametrize("language", sorted(SUM_PROGRAMS))
def test_languages_run_and_judge(docker, language: str) -> None:
    result = docker.run(language, SUM_PROGRAMS[language], TESTS)
    assert [t.verdict for t in result.tests] == [Verdict.AC, Verdict.AC, Verdict.WA], result
    assert (result.verdict, result.passed, result.total) == (Verdict.WA, 2, 3)
    assert result.tests[1].stdout == "42\n"


@pytest.mark.parametrize("language", sorted(BROKEN_PROGRAMS))
def test_languages_compile_error_is_ce_with_message(docker, language: str) -> None:
    result = docker.run(language, BROKEN_PROGRAMS[language], TESTS[:1])
    assert result.verdict is Verdict.CE, result
    assert result.compile_output.strip(), "the compiler's message is kept"
    assert result.tests == ()
