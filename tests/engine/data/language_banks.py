"""Hand-written sentence banks, one per language, that the labelled language set is built from.

Each bank holds six sentences of reasoning about a small problem, a three-word phrase, a line
of interjections and (for languages written with spaces) a clause that can stand inside a
sentence. Sentences hold no digits, math or code, so their words are counted by the set's
counting rule alone (see language_set.py).
"""

from __future__ import annotations

BANKS: dict[str, dict[str, object]] = {
    "en": {
        "sentences": [
            "Okay, so I need to find how many apples are left after the trade.",
            "First, let me write down what the question actually gives us.",
            "Wait, that does not look right, so I should check the second step again.",
            "If each box holds the same amount, then the total splits evenly between them.",
            "Hmm, maybe there is a simpler way to see this without counting every case.",
            "So the answer should be the smaller of the two values we found earlier.",
        ],
        "phrase": "Let me check.",
        "interjections": "Ok. Wait. Hmm.",
        "clause": "but then we need to check the whole result",
    },
    "fr": {
        "sentences": [
            "Bon, je dois trouver combien de pommes il reste après l'échange.",
            "D'abord, notons ce que l'énoncé nous donne vraiment.",
            "Attends, cela ne semble pas juste, donc je vérifie encore la deuxième étape.",
            "Si chaque boîte contient la même quantité, alors le total se partage également.",
            "Peut-être existe-t-il une méthode plus simple sans compter tous les cas.",
            "Donc la réponse devrait être la plus petite des deux valeurs trouvées.",
        ],
        "phrase": "Vérifions encore ceci.",
        "interjections": "Hum. Attends. D'accord.",
        "clause": "puis nous devons vérifier tout le résultat",
    },
    "de": {
        "sentences": [
            "Also, ich muss herausfinden, wie viele Äpfel nach dem Tausch übrig bleiben.",
            "Zuerst schreibe ich auf, was die Aufgabe eigentlich vorgibt.",
            "Moment, das sieht nicht richtig aus, also prüfe ich den zweiten Schritt noch einmal.",
            "Wenn jede Kiste gleich viel enthält, dann teilt sich die Summe gleichmäßig auf.",
            "Vielleicht gibt es einen einfacheren Weg, ohne jeden Fall einzeln zu zählen.",
            "Also sollte die Antwort der kleinere der beiden gefundenen Werte sein.",
        ],
        "phrase": "Ich prüfe nochmal.",
        "interjections": "Hm. Warte mal. Genau.",
        "clause": "danach müssen wir das ganze Ergebnis prüfen",
    },
    "es": {
        "sentences": [
            "Bueno, tengo que averiguar cuántas manzanas quedan después del intercambio.",
            "Primero, voy a anotar lo que el enunciado realmente nos dice.",
            "Espera, eso no parece correcto, así que reviso otra vez el segundo paso.",
            "Si cada caja tiene la misma cantidad, entonces el total se reparte por igual.",
            "Quizás hay una forma más sencilla de verlo sin contar todos los casos.",
            "Entonces la respuesta debería ser el menor de los dos valores encontrados.",
        ],
        "phrase": "Vamos a comprobarlo.",
        "interjections": "Mmm. Espera. Vale.",
        "clause": "luego tenemos que revisar todo el resultado",
    },
    "pt": {
        "sentences": [
            "Bem, preciso descobrir quantas maçãs sobram depois da troca.",
            "Primeiro, vou anotar o que o enunciado realmente nos fornece.",
            "Espera, isso não parece certo, então vou conferir de novo o segundo passo.",
            "Se cada caixa tem a mesma quantidade, então o total se divide igualmente.",
            "Talvez exista um jeito mais simples de ver isso sem contar todos os casos.",
            "Então a resposta deveria ser o menor dos dois valores que encontramos.",
        ],
        "phrase": "Vou conferir isso.",
        "interjections": "Hum. Espera aí. Certo.",
        "clause": "depois precisamos conferir todo o resultado",
    },
    "it": {
        "sentences": [
            "Allora, devo capire quante mele restano dopo lo scambio.",
            "Prima di tutto, scrivo quello che il problema ci dice davvero.",
            "Aspetta, questo non sembra giusto, quindi ricontrollo il secondo passaggio.",
            "Se ogni scatola contiene la stessa quantità, allora il totale si divide "
            "in parti uguali.",
            "Forse esiste un modo più semplice per vederlo senza contare tutti i casi.",
            "Quindi la risposta dovrebbe essere il più piccolo dei due valori trovati.",
        ],
        "phrase": "Ricontrolliamo questo passaggio.",
        "interjections": "Mmm. Aspetta. Va bene.",
        "clause": "poi dobbiamo controllare tutto il risultato",
    },
    "vi": {
        "sentences": [
            "Được rồi, tôi cần tìm xem còn lại bao nhiêu quả táo sau khi trao đổi.",
            "Trước hết, tôi ghi lại những gì đề bài thực sự cho chúng ta.",
            "Khoan đã, điều đó có vẻ không đúng, nên tôi kiểm tra lại bước thứ hai.",
            "Nếu mỗi hộp chứa cùng một lượng, thì tổng được chia đều cho các hộp.",
            "Có lẽ có cách đơn giản hơn để thấy điều này mà không cần đếm từng trường hợp.",
            "Vậy đáp án phải là giá trị nhỏ hơn trong hai giá trị đã tìm được.",
        ],
        "phrase": "Kiểm tra lại nhé.",
        "interjections": "Ừm. Khoan đã. Được rồi.",
        "clause": "sau đó chúng ta cần kiểm tra toàn bộ kết quả",
    },
    "ru": {
        "sentences": [
            "Итак, мне нужно найти, сколько яблок осталось после обмена.",
            "Сначала запишу, что на самом деле дано в условии задачи.",
            "Подожди, это выглядит неправильно, поэтому проверю второй шаг ещё раз.",
            "Если в каждой коробке одинаковое количество, то сумма делится поровну.",
            "Возможно, есть более простой способ увидеть это без перебора всех случаев.",
            "Значит, ответом должно быть меньшее из двух найденных значений.",
        ],
        "phrase": "Давай проверим ещё.",
        "interjections": "Хм. Погоди. Ладно.",
        "clause": "потом нужно проверить весь результат целиком",
    },
    "uk": {
        "sentences": [
            "Отже, мені потрібно знайти, скільки яблук залишилося після обміну.",
            "Спочатку запишу, що насправді дано в умові задачі.",
            "Зачекай, це виглядає неправильно, тому перевірю другий крок ще раз.",
            "Якщо в кожній коробці однакова кількість, то сума ділиться порівну.",
            "Можливо, існує простіший спосіб побачити це без перебору всіх випадків.",
            "Отже, відповіддю має бути менше з двох знайдених значень.",
        ],
        "phrase": "Перевірмо ще раз.",
        "interjections": "Хм. Зачекай. Гаразд.",
        "clause": "потім треба перевірити весь результат повністю",
    },
    "ar": {
        "sentences": [
            "حسنًا، أحتاج إلى معرفة عدد التفاحات المتبقية بعد التبادل.",
            "أولًا، سأكتب ما تعطينا إياه المسألة فعلًا.",
            "انتظر، هذا لا يبدو صحيحًا، لذلك سأراجع الخطوة الثانية مرة أخرى.",
            "إذا كانت كل علبة تحتوي على الكمية نفسها، فإن المجموع يتوزع بالتساوي.",
            "ربما توجد طريقة أبسط لرؤية ذلك دون عد كل الحالات.",
            "إذن يجب أن يكون الجواب هو الأصغر بين القيمتين اللتين وجدناهما.",
        ],
        "phrase": "دعني أتحقق مجددًا.",
        "interjections": "حسنًا. انتظر. لحظة.",
        "clause": "ثم علينا أن نتحقق من النتيجة كلها",
    },
    "ko": {
        "sentences": [
            "좋아, 교환한 뒤에 사과가 몇 개 남는지 구해야 한다.",
            "먼저 문제에서 실제로 주어진 것을 적어 보자.",
            "잠깐, 이건 맞지 않아 보이니까 두 번째 단계를 다시 확인해야겠다.",
            "각 상자에 같은 양이 들어 있다면 전체는 똑같이 나누어진다.",
            "모든 경우를 세지 않고 이것을 보는 더 간단한 방법이 있을지도 모른다.",
            "그러면 답은 앞에서 구한 두 값 중 더 작은 값이어야 한다.",
        ],
        "phrase": "다시 확인해 보자.",
        "interjections": "음. 잠깐. 그렇구나.",
    },
    "zh": {
        "sentences": [
            "好的，我需要算出交换之后还剩下多少个苹果。",
            "首先，我把题目真正给出的条件写下来。",
            "等一下，这看起来不对，所以我要再检查一遍第二步。",
            "如果每个盒子装的数量相同，那么总数就会平均分开。",
            "也许有更简单的方法，不用把每种情况都数一遍。",
            "所以答案应该是前面求出的两个值中较小的那个。",
        ],
        "phrase": "再检查一下。",
        "interjections": "嗯。等等。好的。",
    },
    "ja": {
        "sentences": [
            "さて、交換のあとにりんごがいくつ残るかを求める必要がある。",
            "まず、問題文が実際に与えている条件を書き出してみよう。",
            "待って、これは正しくなさそうなので、二番目の手順をもう一度確認する。",
            "それぞれの箱に同じ量が入っているなら、合計は均等に分けられる。",
            "すべての場合を数えなくても、もっと簡単に分かる方法があるかもしれない。",
            "だから答えは、先に求めた二つの値のうち小さいほうになるはずだ。",
        ],
        "phrase": "もう一度確認。",
        "interjections": "うーん。待って。なるほど。",
    },
}
